//! The `flatspace` command. Each subcommand lives in its own module.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod data_commands;
mod serve_commands;

#[derive(Parser, Debug)]
#[command(
    name = "flatspace",
    version,
    about = "See every row of your embeddings: PCA, UMAP and t-SNE on the whole table"
)]
pub struct Cli {
    /// The store directory.
    #[arg(
        long,
        global = true,
        env = "FLATSPACE_DATA",
        default_value = "./flatspace-data"
    )]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import a CSV, Parquet, .npy or TensorBoard projector file into the store.
    Import(data_commands::ImportArgs),
    /// List projects, runs and tables with row counts and dimensions.
    Ls(data_commands::LsArgs),
    /// Write a table (and its projections) to Parquet or CSV.
    Export(data_commands::ExportArgs),
    /// Serve the web UI and the API over the store.
    Serve(serve_commands::ServeArgs),
    /// Fill the store with the demo tables and serve them.
    Demo(serve_commands::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => data_commands::import(&cli.data_dir, args),
        Command::Ls(args) => data_commands::ls(&cli.data_dir, args),
        Command::Export(args) => data_commands::export(&cli.data_dir, args),
        Command::Serve(args) => serve_commands::serve(&cli.data_dir, args),
        Command::Demo(args) => serve_commands::demo(&cli.data_dir, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by ": ", leaving out a cause whose text the message already
/// holds (many library errors repeat their source in their own text).
fn error_chain(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
