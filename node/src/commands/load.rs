//! `cairn load` and `cairn bench`: thin commands over `cairn-load`, which holds the load
//! generator and the benchmark; here only the output.
use anyhow::Result;
use cairn_load::bench::BenchArgs;
use cairn_load::LoadArgs;

/// Runs the load generator; prints the SPEC §7 report as JSON or for people.
pub async fn load(args: LoadArgs) -> Result<()> {
    let json = args.json;
    let report = cairn_load::run(args).await?.report;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.human());
    }
    Ok(())
}

/// Runs the benchmark, by default with this `cairn` binary as the nodes' binary too.
pub async fn bench(mut args: BenchArgs) -> Result<()> {
    if args.binary.is_none() {
        args.binary = Some(std::env::current_exe()?);
    }
    let out = cairn_load::bench::run(&args).await?;
    println!("report: {}\nplot:   {}", out.json.display(), out.svg.display());
    Ok(())
}
