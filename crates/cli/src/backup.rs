//! `marrow backup` and `marrow restore`.
//!
//! SQLite: `VACUUM INTO` writes a consistent copy while the server keeps running (one read
//! snapshot: every committed transaction up to that moment, nothing half-written), and restore
//! copies it to a new file. PostgreSQL: `pg_dump --format=custom` (which also reads one
//! snapshot) and `pg_restore` into an empty database, the path PostgreSQL documents; the
//! password travels in `PGPASSWORD`, never on a command line other users can read.
//!
//! Both refuse to overwrite anything that holds data, and both check the result: it opens as a
//! Marrow database and its audit chain is intact.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, anyhow, bail};
use marrow_store::{DatabaseUrl, OpenMode, Store};

/// What a backup or restore left behind, for one line of output.
struct Summary {
    patients: i64,
    cases: i64,
    audit_records: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} patients, {} cases, {} audit records, audit chain intact",
            self.patients, self.cases, self.audit_records
        )
    }
}

/// Opens `url` and checks it is a whole Marrow database.
async fn check(url: &DatabaseUrl) -> anyhow::Result<Summary> {
    let (store, _) = Store::open_with(url, OpenMode::MustExist).await?;
    let chain = store.verify_audit_chain().await?;
    if let Some(id) = chain.first_broken {
        bail!("the audit chain is broken at record {id}: this is not a faithful copy");
    }
    let summary = Summary {
        patients: store.patient_count().await?,
        cases: store.case_count().await?,
        audit_records: chain.records,
    };
    store.close().await;
    Ok(summary)
}

/// Writes a backup of `url` to `out` and checks it.
pub async fn backup(url: &DatabaseUrl, out: &Path) -> anyhow::Result<String> {
    if out.exists() {
        bail!("--out: {} exists already; a backup never overwrites a file", out.display());
    }
    match url {
        DatabaseUrl::Sqlite(_) => {
            let (store, _) = Store::open_with(url, OpenMode::MustExist).await?;
            store.backup_sqlite(out).await?;
            store.close().await;
            let copy = DatabaseUrl::Sqlite(out.to_owned());
            let summary =
                check(&copy).await.context("the backup was written but does not check")?;
            Ok(format!("backup written to {}: {summary}", out.display()))
        }
        DatabaseUrl::Postgres(raw) => {
            let conn = PgConnection::parse(raw)?;
            conn.run("pg_dump", &["--format=custom", "--no-owner", "--file"], out)?;
            Ok(format!(
                "backup written to {} with pg_dump (restore it with marrow restore --from)",
                out.display()
            ))
        }
    }
}

/// Restores the backup `from` into the database `url`, which must hold no data yet.
pub async fn restore(url: &DatabaseUrl, from: &Path) -> anyhow::Result<String> {
    if !from.is_file() {
        bail!("--from: there is no backup file at {}", from.display());
    }
    match url {
        DatabaseUrl::Sqlite(target) => {
            if target.exists() {
                bail!(
                    "--database: {} exists already; restore into a new file, then point Marrow at it",
                    target.display()
                );
            }
            // The copy is checked, never the backup itself (opening applies migrations); a copy
            // that does not check is removed, so a bad file never becomes a database.
            std::fs::copy(from, target)
                .with_context(|| format!("cannot write {}", target.display()))?;
            match check(url).await {
                Ok(summary) => Ok(format!("restored into {}: {summary}", target.display())),
                Err(e) => {
                    let _ = std::fs::remove_file(target);
                    Err(e.context("--from: the backup does not check; nothing was restored"))
                }
            }
        }
        DatabaseUrl::Postgres(raw) => {
            // An empty or freshly migrated database may be replaced; one with data may not.
            if let Ok((store, _)) = Store::open_with(url, OpenMode::MustExist).await {
                let has_data = store.patient_count().await.unwrap_or(0) > 0
                    || !store.users().await?.is_empty();
                store.close().await;
                if has_data {
                    bail!(
                        "--database: {} holds data already; restore into an empty database",
                        url.describe()
                    );
                }
            }
            let conn = PgConnection::parse(raw)?;
            conn.run(
                "pg_restore",
                &[
                    "--no-owner",
                    "--clean",
                    "--if-exists",
                    "--exit-on-error",
                    "--dbname",
                    &conn.database,
                ],
                from,
            )?;
            let summary = check(url).await?;
            Ok(format!("restored into {}: {summary}", url.describe()))
        }
    }
}

/// The parts of a `postgres://` URL the PostgreSQL tools take as environment variables.
struct PgConnection {
    host: String,
    port: String,
    user: String,
    password: String,
    database: String,
}

impl PgConnection {
    fn parse(raw: &str) -> anyhow::Result<Self> {
        let bad = || anyhow!("--database: cannot read the PostgreSQL URL for pg_dump/pg_restore");
        let rest = raw.split_once("://").map(|(_, r)| r).ok_or_else(bad)?;
        let rest = rest.split('?').next().unwrap_or(rest);
        let (credentials, location) = rest.rsplit_once('@').unwrap_or(("", rest));
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        let (host_port, database) = location.split_once('/').ok_or_else(bad)?;
        let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "5432"));
        Ok(Self {
            host: decode(host),
            port: port.to_owned(),
            user: decode(user),
            password: decode(password),
            database: decode(database),
        })
    }

    /// Runs `tool ARGS FILE` with the connection in the environment.
    fn run(&self, tool: &str, args: &[&str], file: &Path) -> anyhow::Result<()> {
        let mut command = Command::new(tool);
        command
            .args(args)
            .arg(file)
            .env("PGHOST", &self.host)
            .env("PGPORT", &self.port)
            .env("PGUSER", &self.user)
            .env("PGPASSWORD", &self.password)
            .env("PGDATABASE", &self.database);
        let output = command.output().with_context(|| {
            format!(
                "cannot run {tool}: install the PostgreSQL client tools (Debian: postgresql-client)"
            )
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
            bail!("{tool} failed: {first}");
        }
        Ok(())
    }
}

/// Percent-decoding of a URL part (a password may hold reserved characters).
fn decode(part: &str) -> String {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 3 <= bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_becomes_the_tools_environment() {
        let c = PgConnection::parse(
            "postgres://marrow:p%40ss%3Aw@db.example:6543/marrow_prod?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            (
                c.host.as_str(),
                c.port.as_str(),
                c.user.as_str(),
                c.password.as_str(),
                c.database.as_str()
            ),
            ("db.example", "6543", "marrow", "p@ss:w", "marrow_prod")
        );
        let d = PgConnection::parse("postgres://me@localhost/db").unwrap();
        assert_eq!((d.port.as_str(), d.password.as_str()), ("5432", ""));
        assert!(PgConnection::parse("postgres://localhost").is_err());
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }
}
