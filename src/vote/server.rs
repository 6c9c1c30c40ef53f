//! A voter serving its vote over TCP: the witness (`mysql-ha witness`) runs
//! only this; each node's daemon runs it on a thread beside its checks. The
//! persisted part of the vote is written before an answer that changed it
//! leaves, so a restart never forgets whom it backed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::voter::{Persisted, Reply, Request, Voter};
use super::wire;
use crate::daemon::state::{read_json, write_json};
use crate::{Error, Result};

/// How long one connection may take before it is dropped.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(3);

/// A voter with its clock and the file that keeps its promise.
pub struct SharedVoter {
    voter: Mutex<Voter>,
    started: Instant,
    state_file: PathBuf,
}

impl SharedVoter {
    pub fn open(state_file: &Path, lease_ms: u64) -> Result<Arc<SharedVoter>> {
        let persisted: Persisted = read_json(state_file)?.unwrap_or_default();
        Ok(Arc::new(SharedVoter {
            voter: Mutex::new(Voter::new(persisted, lease_ms, 0)),
            started: Instant::now(),
            state_file: state_file.to_path_buf(),
        }))
    }

    /// Milliseconds of the voter's monotonic clock.
    pub fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Holds the vote: nothing else is decided while the guard lives (a
    /// slave keeps it across its question to the witness).
    pub fn lock(&self) -> MutexGuard<'_, Voter> {
        match self.voter.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Decides under an already held guard, persisting before it returns.
    pub fn decide_locked(&self, voter: &mut Voter, request: &Request) -> Reply {
        let now = self.now();
        let saved = voter.clone();
        let (reply, changed) = voter.decide(request, now);
        if changed {
            if let Err(err) = write_json(&self.state_file, voter.persisted()) {
                // A promise that cannot be kept across a restart is not given.
                *voter = saved;
                return Reply::Refused {
                    reason: format!("cannot record the vote: {err}"),
                    holder: voter.persisted().holder.clone(),
                    term: voter.persisted().term,
                };
            }
        }
        reply
    }

    pub fn decide(&self, request: &Request) -> Reply {
        let mut voter = self.lock();
        self.decide_locked(&mut voter, request)
    }
}

/// What the server reports about a request it answered (for a log).
pub type Observer = Box<dyn Fn(&Request, &Reply) + Send + Sync>;

/// Serves the vote until the process ends; one thread per connection.
pub fn serve(
    listener: TcpListener,
    voter: Arc<SharedVoter>,
    key: Vec<u8>,
    observe: Observer,
) -> Result<()> {
    let key = Arc::new(key);
    let observe = Arc::new(observe);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let voter = voter.clone();
        let key = key.clone();
        let observe = observe.clone();
        std::thread::spawn(move || {
            let result = wire::serve_one(&stream, &key, CONNECTION_TIMEOUT, |request| {
                let reply = voter.decide(request);
                observe(request, &reply);
                reply
            });
            if let Err(err) = result {
                let peer = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                eprintln!("mysql-ha vote: {peer}: {err}");
            }
        });
    }
    Ok(())
}

/// Binds the vote's port; the error names the address.
pub fn bind(address: &str) -> Result<TcpListener> {
    TcpListener::bind(address).map_err(|e| Error::io(format!("vote address {address}"), e))
}
