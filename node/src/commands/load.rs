//! `cairn load`: a thin command over `cairn-load`, which holds the load generator; here only
//! the output.
use anyhow::Result;
use cairn_load::LoadArgs;

/// Runs the load generator; prints the SPEC §7 report as JSON or for people.
pub async fn load(args: LoadArgs) -> Result<()> {
    let json = args.json;
    let report = cairn_load::run(args).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.human());
    }
    Ok(())
}
