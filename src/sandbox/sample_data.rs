//! Sample databases on node1, with real rows, and the lab's answers file.

use std::path::{Path, PathBuf};

use super::host::exec_checked;
use super::image::Image;
use crate::sql::flavor::Family;
use crate::Result;

/// Replicated by the lab's answers file; `web-stats` needs quoting in SQL.
pub const REPLICATED: [&str; 3] = ["shop", "crm", "web-stats"];
/// Present on node1 but left out of the answers file.
pub const NOT_REPLICATED: &str = "hr";

/// Stored size of one generated row, measured on InnoDB with these tables.
const BYTES_PER_ROW: u64 = 420;

fn client(host: &str, image: Image, sql: &str) -> Result<String> {
    Ok(exec_checked(
        host,
        &[image.client_program(), "--batch", "--skip-column-names"],
        Some(sql.as_bytes()),
    )?
    .stdout_text())
}

/// Creates the sample databases unless they are already there.
pub fn load(host: &str, image: Image, data_mb: u32) -> Result<()> {
    let present = client(
        host,
        image,
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop','crm','web-stats','hr');",
    )?;
    if present.trim() == "4" {
        return Ok(());
    }
    let rows = (u64::from(data_mb.max(1)) * 1024 * 1024 / BYTES_PER_ROW).max(1000);
    let sql = sample_sql(rows);
    let sql = match image.flavor() {
        Family::MariaDb => sql,
        Family::MySql => numbers_without_sequence_engine(&sql, rows),
    };
    client(host, image, &sql)?;
    Ok(())
}

/// MySQL has no `seq_1_to_N` tables (MariaDB's Sequence engine): the same
/// numbers from a recursive common table expression (and SHA2 for the
/// digests MySQL 9 dropped).
fn numbers_without_sequence_engine(sql: &str, rows: u64) -> String {
    let mut out = format!("SET SESSION cte_max_recursion_depth = {};\n", rows + 1000);
    let mut rest = sql;
    while let Some(at) = rest.find("FROM seq_1_to_") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "FROM seq_1_to_".len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        out.push_str(&format!(
            "FROM (WITH RECURSIVE numbers (seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM numbers WHERE seq < {digits}) SELECT seq FROM numbers) AS numbers"
        ));
        rest = &after[digits.len()..];
    }
    out.push_str(rest);
    // MySQL 9 has neither MD5() nor SHA1(): hex digits of the same lengths.
    out.replace("MD5(seq)", "LEFT(SHA2(seq, 256), 32)")
        .replace("SHA1(seq)", "LEFT(SHA2(seq, 256), 40)")
}

fn sample_sql(total_rows: u64) -> String {
    let share = |percent: u64| (total_rows * percent / 100).max(10);
    let (customers, orders, contacts, hits) = (share(20), share(30), share(30), share(20));
    format!(
        r#"
CREATE DATABASE IF NOT EXISTS shop;
USE shop;
CREATE TABLE IF NOT EXISTS shop.customers (
  id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200) NOT NULL,
  created DATETIME NOT NULL, note VARCHAR(255) NOT NULL, KEY (email)) ENGINE=InnoDB;
INSERT INTO shop.customers
  SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com'),
         '2006-09-01' + INTERVAL seq MINUTE, CONCAT(MD5(seq), REPEAT(SHA1(seq), 5))
  FROM seq_1_to_{customers};
CREATE TABLE IF NOT EXISTS shop.orders (
  id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
  placed DATETIME NOT NULL, items VARCHAR(255) NOT NULL, KEY (customer_id)) ENGINE=InnoDB;
INSERT INTO shop.orders
  SELECT seq, 1 + seq % {customers}, (seq % 9973) / 7, '2006-10-01' + INTERVAL seq SECOND,
         CONCAT(SHA1(seq), REPEAT(MD5(seq), 6))
  FROM seq_1_to_{orders};
CREATE DATABASE IF NOT EXISTS crm;
USE crm;
CREATE TABLE IF NOT EXISTS crm.contacts (
  id INT PRIMARY KEY, company VARCHAR(100) NOT NULL, phone VARCHAR(30) NOT NULL,
  notes TEXT NOT NULL) ENGINE=InnoDB;
INSERT INTO crm.contacts
  SELECT seq, CONCAT('company ', seq % 997), CONCAT('+1-555-', LPAD(seq % 10000, 4, '0')),
         REPEAT(SHA1(seq), 8)
  FROM seq_1_to_{contacts};
CREATE DATABASE IF NOT EXISTS `web-stats`;
USE `web-stats`;
CREATE TABLE IF NOT EXISTS `web-stats`.hits (
  id BIGINT PRIMARY KEY, path VARCHAR(200) NOT NULL, seen DATETIME NOT NULL,
  agent VARCHAR(255) NOT NULL) ENGINE=InnoDB;
INSERT INTO `web-stats`.hits
  SELECT seq, CONCAT('/page/', seq % 501), '2006-12-01' + INTERVAL seq SECOND,
         CONCAT('Mozilla/5.0 ', REPEAT(MD5(seq), 6))
  FROM seq_1_to_{hits};
CREATE DATABASE IF NOT EXISTS hr;
USE hr;
CREATE TABLE IF NOT EXISTS hr.employees (
  id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, salary INT NOT NULL) ENGINE=InnoDB;
INSERT INTO hr.employees SELECT seq, CONCAT('employee ', seq), 30000 + seq * 10 FROM seq_1_to_100;
"#
    )
}

/// Writes the answers file that sets up this lab (node1 master, node2 slave).
pub fn write_answers(path: &Path) -> Result<PathBuf> {
    let cluster = format!(
        r#"[cluster]
resource = "vip"
vip = "{vip}/24"
device = "eth0"
arp = "when-needed"
account = "mysqlha"
key_passphrase = ""
"#,
        vip = super::CLUSTER_ADDRESS,
    );
    write_answers_with_cluster(path, &cluster)
}

/// Writes the lab's answers file with this `[cluster]` part (mode 0600: a
/// variant may hold a key).
pub fn write_answers_with_cluster(path: &Path, cluster: &str) -> Result<PathBuf> {
    let databases: Vec<String> = REPLICATED.iter().map(|d| format!("\"{d}\"")).collect();
    let cluster = cluster.replacen("[cluster]\n", "[cluster]\nwitness = \"192.0.2.100\"\n", 1);
    let text = format!(
        r#"# mysql-ha answers for the sandbox lab (written by `mysql-ha sandbox up`).
# See docs/answers.md for every key.

[master]
host = "192.0.2.11"
ssh_user = "root"
mysql_admin_user = "root"
mysql_admin_password = ""

[slave]
host = "192.0.2.12"
ssh_user = "root"
mysql_admin_user = "root"
mysql_admin_password = ""

[replication]
user = "repl"
password = ""
databases = [{databases}]
seed = "dump"

{cluster}"#,
        databases = databases.join(", "),
    );
    crate::answers::write_private_file(path, text.as_bytes())?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_gets_every_sequence_table_as_a_recursive_query() {
        let sql = numbers_without_sequence_engine(&sample_sql(1000), 1000);
        assert!(!sql.contains("seq_1_to_"), "{sql}");
        assert!(sql.starts_with("SET SESSION cte_max_recursion_depth = 2000;"));
        assert!(sql.contains("WHERE seq < 100) SELECT seq FROM numbers) AS numbers;"));
        assert_eq!(sql.matches("WITH RECURSIVE").count(), 5);
        assert!(!sql.contains("MD5(") && !sql.contains("SHA1("), "{sql}");
    }
}
