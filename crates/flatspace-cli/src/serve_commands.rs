//! `serve` and `demo`: the web UI and API over the store.

use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use flatspace_server::{DEFAULT_BODY_LIMIT, ServerConfig};
use flatspace_store::Store;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to bind. Anything but loopback requires an access token.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8790)]
    pub port: u16,
    /// Access token required on every API request; generated and printed when binding beyond
    /// loopback without one.
    #[arg(long, env = "FLATSPACE_TOKEN")]
    pub token: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Compute threads for projections (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Rows of the generated Gaussian-mixture table.
    #[arg(long, default_value_t = flatspace_server::demo::DEFAULT_BLOBS_ROWS)]
    pub blobs_rows: usize,
    /// Fill the store and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

fn config(args: ServeArgs) -> anyhow::Result<ServerConfig> {
    let token = match args.token {
        Some(t) if t.trim().is_empty() => anyhow::bail!("--token must not be empty"),
        Some(t) => Some(t),
        None if !args.host.is_loopback() => {
            let t = flatspace_server::auth::generate_token()
                .context("could not read random bytes for an access token")?;
            eprintln!(
                "flatspace: binding to {} beyond loopback: generated an access token (pass --token to choose one)",
                args.host
            );
            Some(t)
        }
        None => None,
    };
    Ok(ServerConfig {
        host: args.host,
        port: args.port,
        token,
        body_limit: args.body_limit,
        compute_threads: args.threads,
    })
}

fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    Store::open(data_dir)
        .with_context(|| format!("could not open the store {}", data_dir.display()))
}

fn run_server(store: Store, config: ServerConfig) -> anyhow::Result<()> {
    let root = store.root().display().to_string();
    let ui = if flatspace_server::ui_is_built() {
        ""
    } else {
        " (this build has no web UI: see the page for how to build it)"
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(flatspace_server::serve(store, config, |url| {
        println!("flatspace: serving {root} at {url}{ui}");
        println!("press Ctrl-C to stop");
    }))
}

pub fn serve(data_dir: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let config = config(args)?;
    run_server(open_store(data_dir)?, config)
}

pub fn demo(data_dir: &Path, args: DemoArgs) -> anyhow::Result<()> {
    let config = config(args.serve)?;
    let store = open_store(data_dir)?;
    let filled = flatspace_server::demo::fill_store(&store, args.blobs_rows)
        .context("could not write the demo tables")?;
    for f in &filled {
        let what = if f.written { "wrote" } else { "found" };
        println!(
            "flatspace: {what} table {:?} ({} rows, id {})",
            f.table.key, f.table.n_rows, f.table.id
        );
    }
    if args.no_serve {
        return Ok(());
    }
    run_server(store, config)
}
