//! `marrow`: run the server, migrate the database, manage users and API tokens.
//!
//! The only production crate where `anyhow` appears: every error ends here as one line on
//! stderr and exit status 1, never a panic or a backtrace.

mod backup;
mod demo;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use marrow_domain::role::{Role, check_new_password, parse_username};
use marrow_server::{AppState, Clock, Config, SystemClock, auth};
use marrow_store::{Backend, DatabaseUrl, OpenMode, Store};

/// Marrow runs a hospital's bone marrow aspiration service, from order to signed report.
#[derive(Debug, Parser)]
#[command(
    name = "marrow",
    version,
    about = "Marrow runs a hospital's bone marrow aspiration service, from order to signed report."
)]
struct Cli {
    #[command(flatten)]
    db: DatabaseArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct DatabaseArg {
    /// Database URL: sqlite://PATH (created if missing) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(
        long = "database",
        env = "MARROW_DATABASE_URL",
        default_value = "sqlite://marrow.db",
        global = true
    )]
    url: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server (pages and JSON API).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "MARROW_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Fill an empty database with synthetic patients, cases at every step and one demo
        /// user per role; their passwords are printed once.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (set this when Marrow is served over HTTPS).
        #[arg(long, env = "MARROW_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Send every signed report version as HL7 v2.5.1 ORU^R01 over MLLP to HOST:PORT.
        /// Messages wait in the database until acknowledged, across restarts.
        #[arg(long, env = "MARROW_HL7_DESTINATION")]
        hl7_destination: Option<String>,
        /// MSH-4 of the messages sent.
        #[arg(long, env = "MARROW_HL7_FACILITY", default_value = "MARROW")]
        hl7_facility: String,
        /// The cell classifier for image-assisted counting (a file written by `marrow train`);
        /// by default the model that ships with Marrow.
        #[arg(long, env = "MARROW_MODEL")]
        model: Option<std::path::PathBuf>,
        /// Receive blood counts as HL7 v2 ORU^R01 over MLLP on this address (e.g.
        /// 0.0.0.0:2575); each message is acknowledged, and one that cannot be stored is held
        /// for review with an AE acknowledgement saying why.
        #[arg(long, env = "MARROW_HL7_LISTEN")]
        hl7_listen: Option<String>,
        /// The identifier system of the site's MRNs in FHIR exports: the URI the site's EHR
        /// uses for them (an http(s) URL, urn:oid:… or urn:uuid:…), so a receiver can match
        /// patients. The default is a placeholder that matches no register.
        #[arg(long, env = "MARROW_MRN_SYSTEM", value_name = "URI", value_parser = mrn_system,
              default_value = marrow_interop::fhir::MRN_SYSTEM)]
        mrn_system: String,
    },
    /// Import blood counts from a file.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write a consistent copy of the database while it is in use (SQLite: a new database
    /// file; PostgreSQL: a pg_dump archive) and check it.
    Backup {
        /// The file to write; never overwritten.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into --database, which must not hold data yet (SQLite: a new file),
    /// and check every record's audit chain.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Manage staff users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a case's signed report in an exchange format (drafts are refused).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Find the nucleated cells in field images (or take each file as one cell with --cells)
    /// and print one JSON line per cell: file, box, proposed class and probabilities.
    Analyze {
        /// JPEG, PNG or TIFF files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Each file is one cell-centred patch; do not search for cells.
        #[arg(long)]
        cells: bool,
        /// A model file from `marrow train`; the model shipped with Marrow by default.
        #[arg(long)]
        model: Option<std::path::PathBuf>,
        /// Micrometres per pixel of the camera (sets the cell sizes the detector looks for and
        /// the size of the patch cut around each cell).
        #[arg(long, default_value_t = 0.075)]
        um_per_px: f32,
    },
    /// Train the cell classifier from labelled folders (one sub-folder per class: BLA, EOS,
    /// LYT, MON, NGS, NIF, PMO) and write a model file with its training record.
    Train {
        /// A labelled folder; repeat to add more (e.g. the cells confirmed in this lab).
        #[arg(long = "data", required = true)]
        data: Vec<std::path::PathBuf>,
        /// Where to write the model file.
        #[arg(long, default_value = "marrow-cells.model")]
        out: std::path::PathBuf,
        /// Passes over the training images (the shipped model: 60).
        #[arg(long, default_value_t = 60)]
        epochs: usize,
        /// Seed of the split, the initial weights and the augmentation (recorded in the file).
        #[arg(long, default_value_t = 20_261_124)]
        seed: u64,
        /// Fraction of each class held out for validation.
        #[arg(long, default_value_t = 0.2)]
        validation: f32,
        /// Version written into the model file.
        #[arg(long, default_value = "1")]
        model_version: String,
        /// A class's weight in the loss, e.g. `EOS=2` (repeatable): a heavier class costs more
        /// when missed. Without any, the shipped model's: EOS=2, MON=1.4, BLA=1.3; with any,
        /// the classes not named weigh 1.
        #[arg(long = "class-weight")]
        class_weights: Vec<String>,
        /// Channels of the network's four convolutions (each a multiple of 16, at most 256;
        /// recorded in the model file). The default is the shipped model's; v1 and v2 had
        /// 16,32,64,96.
        #[arg(long, default_value = "32,64,128,192", value_parser = parse_widths)]
        widths: marrow_vision::classify::Widths,
    },
    /// Add N synthetic cases for benchmarks (never on a clinical database).
    #[command(hide = true)]
    SeedSynthetic {
        #[arg(long, default_value_t = 10_000)]
        cases: u32,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// A file of HL7 v2 ORU^R01 messages (plain or MLLP-framed). Each message is stored or,
    /// when it cannot be, held for review; one line per message says which.
    Hl7 {
        /// The file.
        file: std::path::PathBuf,
    },
    /// A CSV file with the header `mrn,taken_at,analyte,value,unit`, one value per row. All or
    /// nothing: the first bad row is named and nothing is stored.
    Counts {
        /// The file.
        file: std::path::PathBuf,
        /// The username the import is recorded under.
        #[arg(long = "as")]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from standard input, or asked for twice at a terminal.
    Add {
        /// clinician, proceduralist, nurse, technologist, pathologist or admin
        #[arg(long)]
        role: String,
        /// Name shown on records (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Login name.
        name: String,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a new API bearer token for a user (shown once; store it safely).
    Create {
        /// The user's login name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// HL7 v2.5.1 ORU^R01, segments separated by carriage returns; every signed version,
    /// oldest first (an amendment is a correction), or only `--version`.
    Hl7 {
        /// Case id.
        #[arg(long = "case")]
        case: i64,
        /// Only this version.
        #[arg(long)]
        version: Option<i64>,
        /// MSH-4 (sending facility).
        #[arg(long, default_value = "MARROW")]
        facility: String,
    },
    /// The cells technologists confirmed in the gallery, as a labelled folder for `marrow
    /// train --data`: one sub-folder per model class (BLA, EOS, LYT, MON, NGS, NIF, PMO), one
    /// PNG per cell named by its id only. Cells of classes the model does not know, and "not a
    /// cell" decisions, are counted but not written.
    Cells {
        /// The folder to write; it must not exist yet, or be empty.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The FHIR R4 Bundle of the latest signed version, or of `--version`.
    Fhir {
        /// Case id.
        #[arg(long = "case")]
        case: i64,
        /// This version instead of the latest.
        #[arg(long)]
        version: Option<i64>,
        /// The identifier system of the site's MRNs, as for `marrow serve`.
        #[arg(long, env = "MARROW_MRN_SYSTEM", value_name = "URI", value_parser = mrn_system,
              default_value = marrow_interop::fhir::MRN_SYSTEM)]
        mrn_system: String,
    },
}

/// Reads `--mrn-system`; clap names the option in its error.
fn mrn_system(raw: &str) -> Result<String, String> {
    marrow_interop::fhir::identifier_system(raw)
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the audit hash chain and report the first broken record.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MARROW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn database_url(db: &DatabaseArg) -> anyhow::Result<DatabaseUrl> {
    Ok(DatabaseUrl::parse(&db.url)?)
}

async fn open(db: &DatabaseArg, mode: OpenMode) -> anyhow::Result<Store> {
    let url = DatabaseUrl::parse(&db.url)?;
    let (store, opened) = Store::open_with(&url, mode).await?;
    if opened.created {
        tracing::info!("created a new database: {}", url.describe());
    }
    if opened.migrations_applied > 0 {
        tracing::info!(
            count = opened.migrations_applied,
            "applied migrations to {}",
            url.describe()
        );
    }
    Ok(store)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            demo,
            secure_cookies,
            hl7_destination,
            hl7_facility,
            model,
            hl7_listen,
            mrn_system,
        } => {
            let hl7 = hl7_destination.map(|d| marrow_server::hl7::Hl7Config {
                sending_facility: hl7_facility,
                ..marrow_server::hl7::Hl7Config::to(&d)
            });
            if let Some(path) = &model {
                // Refuse a missing or foreign model file now, not at the first upload.
                marrow_vision::classify::Classifier::load(path)
                    .with_context(|| format!("--model {}", path.display()))?;
            }
            let config = Config { secure_cookies, hl7, model, mrn_system, ..Config::default() };
            serve(&cli.db, &listen, demo, config, hl7_listen.as_deref()).await
        }
        Command::Import(command) => import(&cli.db, command).await,
        Command::Backup { out } => {
            println!("{}", backup::backup(&database_url(&cli.db)?, &out).await?);
            Ok(())
        }
        Command::Restore { from } => {
            println!("{}", backup::restore(&database_url(&cli.db)?, &from).await?);
            Ok(())
        }
        Command::Export(command) => export(&cli.db, command).await,
        Command::Analyze { files, cells, model, um_per_px } => {
            analyze(&files, cells, model.as_deref(), um_per_px)
        }
        Command::Train {
            data,
            out,
            epochs,
            seed,
            validation,
            model_version,
            class_weights,
            widths,
        } => {
            let options = marrow_vision::train::TrainOptions {
                epochs,
                seed,
                validation_fraction: validation,
                model_version,
                class_weights: parse_class_weights(&class_weights)?,
                widths,
                ..marrow_vision::train::TrainOptions::default()
            };
            train(&data, &out, options)
        }
        Command::Migrate => {
            let store = open(&cli.db, OpenMode::CreateIfMissing).await?;
            println!("database is up to date ({})", backend_name(store.backend()));
            Ok(())
        }
        Command::User(UserCommand::Add { role, display_name, name }) => {
            let username = parse_username(&name)?;
            let role = Role::parse(&role)?;
            let display_name = display_name.unwrap_or_else(|| username.clone());
            let display_name = marrow_domain::required_text("display-name", &display_name, 200)?;
            let password = read_new_password()?;
            let store = open(&cli.db, OpenMode::MustExist).await?;
            let hash = auth::hash_password(&password).map_err(|e| anyhow!("{e}"))?;
            let id = store
                .create_user(&username, &display_name, role, &hash, None, SystemClock.now())
                .await?;
            println!("added user {username} ({}) with id {id}", role.label());
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let store = open(&cli.db, OpenMode::MustExist).await?;
            for u in store.users().await? {
                let active = if u.active { "" } else { " (inactive)" };
                println!("{:<20} {:<14} {}{active}", u.username, u.role.code(), u.display_name);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { name }) => {
            let username = parse_username(&name)?;
            let store = open(&cli.db, OpenMode::MustExist).await?;
            let (user, _) = store.user_for_login(&username).await?.ok_or_else(|| {
                anyhow!("no user is called {username:?}; add one with `marrow user add`")
            })?;
            let token = auth::new_token();
            store.create_api_token(user.id, &auth::token_hash(&token), SystemClock.now()).await?;
            eprintln!(
                "API token for {username} (shown once; send it as `Authorization: Bearer TOKEN`):"
            );
            println!("{token}");
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let store = open(&cli.db, OpenMode::MustExist).await?;
            let check = store.verify_audit_chain().await?;
            match check.first_broken {
                None => {
                    println!("audit chain intact: {} records", check.records);
                    Ok(())
                }
                Some(id) => bail!(
                    "audit chain broken at record {id} of {}: a record was edited, deleted or reordered",
                    check.records
                ),
            }
        }
        Command::SeedSynthetic { cases } => {
            let store = open(&cli.db, OpenMode::CreateIfMissing).await?;
            demo::seed_synthetic(&store, cases, SystemClock.now()).await?;
            println!("added {cases} synthetic cases");
            Ok(())
        }
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

fn read_new_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ")
            .context("cannot read the password")?;
        let again = rpassword::prompt_password("Same password again: ")
            .context("cannot read the password")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    check_new_password(&password)?;
    Ok(password)
}

async fn serve(
    db: &DatabaseArg,
    listen: &str,
    demo: bool,
    config: Config,
    hl7_listen: Option<&str>,
) -> anyhow::Result<()> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| anyhow!("--listen {listen:?} is not an address such as 127.0.0.1:8080"))?;
    let store = open(db, OpenMode::CreateIfMissing).await?;
    if demo {
        // Only an empty database (no patients, no users) gets demo data, so demo accounts
        // can never appear beside real ones.
        if store.patient_count().await? == 0 && store.users().await?.is_empty() {
            let users = demo::fill(&store, SystemClock.now()).await?;
            println!("Demo data added. Demo users (passwords are shown only now):");
            for (username, role, password) in users {
                println!("  {username:<14} {role:<26} {password}");
            }
        } else {
            tracing::info!("the database is not empty; demo data was not added");
        }
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    if let Some(hl7) = &config.hl7 {
        tracing::info!(destination = %hl7.destination, "sending signed reports as HL7 v2");
    }
    let state = AppState::new(store.clone(), config);
    if let Some(at) = hl7_listen {
        let bound = marrow_server::intake::listen(state.clone(), at)
            .await
            .with_context(|| format!("--hl7-listen: cannot listen on {at}"))?;
        tracing::info!(address = %bound, "receiving blood counts as HL7 v2 over MLLP");
    }
    let app = marrow_server::app(state);
    tracing::info!("Marrow is listening on http://{addr}");
    marrow_server::serve(listener, app, shutdown_signal()).await.context("the server stopped")?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Detects and classifies; JSON lines on standard output, progress on standard error when it
/// is a terminal. A file that cannot be read is one error line naming it, and the others still
/// run; the exit status then says so.
fn analyze(
    files: &[std::path::PathBuf],
    whole_cells: bool,
    model: Option<&std::path::Path>,
    um_per_px: f32,
) -> anyhow::Result<()> {
    use marrow_vision::cells::{ImageKind, find_cells};
    use marrow_vision::classify::{Classifier, ModelClass};
    use marrow_vision::decode;
    use std::io::Write as _;
    let classifier = match model {
        Some(path) => Classifier::load(path)?,
        None => Classifier::shipped()?,
    };
    let limits = decode::Limits::default();
    if !marrow_vision::cells::SCALE_RANGE.contains(&um_per_px) {
        anyhow::bail!("--um-per-px {um_per_px} is not a microscope scale (0.01 to 2)");
    }
    let kind = if whole_cells { ImageKind::Cell } else { ImageKind::Field };
    let terminal = std::io::stderr().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for (n, file) in files.iter().enumerate() {
        if terminal {
            eprint!("\ranalysing {}/{}", n + 1, files.len());
        }
        let image = match decode::decode_file(file, &limits) {
            Ok(image) => image,
            Err(e) => {
                failed += 1;
                if terminal {
                    eprintln!();
                }
                eprintln!("error: {}: {e}", file.display());
                continue;
            }
        };
        let (boxes, patches): (Vec<_>, Vec<_>) =
            find_cells(image, kind, um_per_px)?.into_iter().map(|f| (f.cell, f.patch)).unzip();
        let proposals = classifier.classify(&patches)?;
        for (cell, proposal) in boxes.iter().zip(proposals) {
            let probabilities: serde_json::Map<String, serde_json::Value> = ModelClass::ALL
                .iter()
                .zip(&proposal.probabilities)
                .map(|(c, p)| (c.code().to_owned(), serde_json::json!((p * 1e4).round() / 1e4)))
                .collect();
            let line = serde_json::json!({
                "file": file.display().to_string(),
                "box": {"x": cell.x, "y": cell.y, "width": cell.width, "height": cell.height},
                "proposed": proposal.class.and_then(ModelClass::counter_class).map(|c| c.code()),
                "model_class": proposal.top.code(),
                "confidence": (proposal.confidence * 1e4).round() / 1e4,
                "probabilities": probabilities,
            });
            writeln!(out, "{line}")?;
        }
    }
    if terminal {
        eprintln!();
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files could not be read", files.len());
    }
    Ok(())
}

/// Trains the classifier; progress goes to standard error, the validation table to standard
/// output. Needs no database.
/// `--widths`: four comma-separated channel counts.
fn parse_widths(text: &str) -> Result<marrow_vision::classify::Widths, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let numbers: Vec<usize> = parts
        .iter()
        .map(|p| p.parse::<usize>().map_err(|_| format!("{p:?} is not a whole number")))
        .collect::<Result<_, _>>()?;
    let widths: [usize; 4] = numbers
        .try_into()
        .map_err(|_| format!("{text:?} needs four channel counts, e.g. 16,32,64,96"))?;
    marrow_vision::classify::Widths::new(widths).map_err(|e| e.to_string())
}

/// The class weights the shipped model (v4) was trained with (BENCHMARKS.md).
const SHIPPED_CLASS_WEIGHTS: [&str; 3] = ["EOS=2", "MON=1.4", "BLA=1.3"];

/// `CODE=WEIGHT` pairs into the model's class order; unnamed classes weigh 1. No pairs at all
/// means the shipped model's [`SHIPPED_CLASS_WEIGHTS`].
fn parse_class_weights(pairs: &[String]) -> anyhow::Result<[f32; 7]> {
    use marrow_vision::classify::ModelClass;
    if pairs.is_empty() {
        let shipped: Vec<String> = SHIPPED_CLASS_WEIGHTS.map(str::to_owned).to_vec();
        return parse_class_weights(&shipped);
    }
    let mut weights = [1.0f32; 7];
    for pair in pairs {
        let (code, weight) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--class-weight {pair:?} is not CODE=WEIGHT, e.g. EOS=2"))?;
        let class = ModelClass::from_code(code.trim()).ok_or_else(|| {
            anyhow!(
                "--class-weight {pair:?}: {code:?} is not one of {}",
                ModelClass::ALL.map(ModelClass::code).join(", ")
            )
        })?;
        let weight: f32 = weight
            .trim()
            .parse()
            .ok()
            .filter(|w: &f32| w.is_finite() && (0.1..=10.0).contains(w))
            .ok_or_else(|| anyhow!("--class-weight {pair:?}: the weight must be from 0.1 to 10"))?;
        let index = ModelClass::ALL.iter().position(|c| *c == class).unwrap_or(0);
        weights[index] = weight;
    }
    Ok(weights)
}

fn train(
    folders: &[std::path::PathBuf],
    out: &std::path::Path,
    options: marrow_vision::train::TrainOptions,
) -> anyhow::Result<()> {
    use marrow_vision::train::{Progress, list_folder};
    let validation = options.validation_fraction;
    if !(0.05..=0.5).contains(&validation) {
        anyhow::bail!("--validation {validation} must be between 0.05 and 0.5");
    }
    if options.epochs == 0 {
        anyhow::bail!("--epochs must be at least 1");
    }
    let mut items = Vec::new();
    let mut sources = Vec::new();
    for folder in folders {
        let listed = list_folder(folder)?;
        sources.push(format!("{} ({} images)", folder.display(), listed.len()));
        items.extend(listed);
    }
    let terminal = std::io::stderr().is_terminal();
    let mut progress = |p: Progress| match p {
        Progress::Loaded(done, total) if terminal => eprint!("\rloading images {done}/{total}"),
        Progress::Loaded(done, total) if done == total => eprintln!("loaded {total} images"),
        Progress::Loaded(..) => {}
        Progress::Epoch(epoch, of, loss, accuracy) => {
            if terminal {
                eprintln!();
            }
            eprintln!(
                "epoch {epoch}/{of}: training loss {loss:.3}, validation accuracy {accuracy:.3}"
            );
        }
    };
    let record = marrow_vision::train::train(&items, sources, &options, out, &mut progress)?;
    println!("{}", record.validation.table());
    println!("wrote {} ({:.0} s)", out.display(), record.training_seconds);
    Ok(())
}

/// Writes the confirmed cells as a labelled folder; returns a one-line summary.
async fn export_cells(
    store: &marrow_store::Store,
    folder: &std::path::Path,
) -> anyhow::Result<String> {
    use marrow_domain::counter::ImageDecision;
    use marrow_vision::classify::ModelClass;
    if folder.exists() && std::fs::read_dir(folder)?.next().is_some() {
        anyhow::bail!("--out {} is not empty; choose a new folder", folder.display());
    }
    std::fs::create_dir_all(folder)?;
    let mut written: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let (mut outside, mut not_cells) = (0, 0);
    let mut failure: Option<std::io::Error> = None;
    store
        .decided_cells(
            |cell, crop| {
                let class = match cell.decision {
                    Some(ImageDecision::Class(class)) => class,
                    _ => {
                        not_cells += 1;
                        return Ok(());
                    }
                };
                let (Some(model), Some(png)) = (ModelClass::for_counter_class(class), crop) else {
                    outside += 1;
                    return Ok(());
                };
                let dir = folder.join(model.code());
                let wrote = std::fs::create_dir_all(&dir).and_then(|()| {
                    std::fs::write(dir.join(format!("marrow-cell-{}.png", cell.id)), png)
                });
                match wrote {
                    Ok(()) => *written.entry(model.code()).or_default() += 1,
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
                Ok(())
            },
            true,
        )
        .await?;
    if let Some(e) = failure {
        anyhow::bail!("cannot write the cells into {}: {e}", folder.display());
    }
    let total: usize = written.values().sum();
    std::fs::write(
        folder.join("README.txt"),
        format!(
            "Cells confirmed by technologists in Marrow's gallery, exported {} for `marrow train --data`.\n\
             One folder per model class; one 128-pixel PNG per cell, cut at 21.6 µm around it.\n\
             These are clinical images: keep them inside the laboratory.\n",
            SystemClock.now().to_rfc3339()
        ),
    )?;
    let per_class: Vec<String> = written.iter().map(|(c, n)| format!("{c} {n}")).collect();
    Ok(format!(
        "exported {total} cell(s) to {} ({}); not written: {outside} of classes the model does not know, {not_cells} marked not a cell",
        folder.display(),
        if per_class.is_empty() { "none".to_owned() } else { per_class.join(", ") }
    ))
}

async fn export(db: &DatabaseArg, command: ExportCommand) -> anyhow::Result<()> {
    use std::io::Write as _;
    let store = open(db, OpenMode::MustExist).await?;
    let now = SystemClock.now();
    let mut out = std::io::stdout().lock();
    match command {
        ExportCommand::Hl7 { case, version, facility } => {
            let record = store.case(marrow_domain::ids::CaseId(case)).await?;
            let config = marrow_server::hl7::Hl7Config {
                sending_facility: facility,
                ..marrow_server::hl7::Hl7Config::to("stdout")
            };
            // Refuses a case without a signed report, and an unknown version, in words.
            marrow_server::report_for_export(&record, version)?;
            let versions: Vec<i64> = match version {
                Some(v) => vec![v],
                None => record.versions.iter().map(|v| v.version).collect(),
            };
            for v in versions {
                let message = marrow_server::hl7::message(&record, v, &config, now)?;
                out.write_all(message.as_bytes())?;
                out.write_all(b"\r\n")?;
            }
        }
        ExportCommand::Cells { out: folder } => {
            let summary = export_cells(&store, &folder).await?;
            writeln!(out, "{summary}")?;
        }
        ExportCommand::Fhir { case, version, mrn_system } => {
            let record = store.case(marrow_domain::ids::CaseId(case)).await?;
            let count = marrow_server::blood_count_before(&store, &record).await?;
            let bundle = marrow_server::fhir_bundle(
                &record,
                version,
                marrow_server::FhirLayout::Pretty,
                count,
                &mrn_system,
            )?;
            writeln!(out, "{bundle}")?;
        }
    }
    store.close().await;
    Ok(())
}

async fn import(db: &DatabaseArg, command: ImportCommand) -> anyhow::Result<()> {
    let store = open(db, OpenMode::MustExist).await?;
    let now = SystemClock.now();
    let read = |file: &std::path::Path| {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
    };
    match command {
        ImportCommand::Hl7 { file } => {
            let text = read(&file)?;
            let messages = marrow_server::intake::split_batch(&text);
            if messages.is_empty() {
                bail!("{}: no HL7 message (MSH segment) found", file.display());
            }
            let (mut stored, mut held) = (0, 0);
            for (i, message) in messages.iter().enumerate() {
                use marrow_server::intake::Hl7Outcome;
                match marrow_server::intake::receive_hl7(&store, message, "hl7-file", now).await? {
                    Hl7Outcome::Stored { count_id } => {
                        stored += 1;
                        println!("message {}: stored as blood count {count_id}", i + 1);
                    }
                    Hl7Outcome::AlreadyStored { count_id } => {
                        println!("message {}: already stored as blood count {count_id}", i + 1);
                    }
                    Hl7Outcome::Held { held_id, error } => {
                        held += 1;
                        println!("message {}: held for review as #{held_id}: {error}", i + 1);
                    }
                }
            }
            println!("{stored} stored, {held} held for review");
        }
        ImportCommand::Counts { file, user } => {
            let text = read(&file)?;
            let Some((user, _)) = store.user_for_login(&user).await? else {
                bail!("--as: there is no user {user:?}");
            };
            let stored = marrow_server::intake::import_csv(&store, &text, user.id, now)
                .await
                .map_err(|e| anyhow!("{}: {e}", file.display()))?;
            println!("imported {} blood count(s)", stored.len());
        }
    }
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
