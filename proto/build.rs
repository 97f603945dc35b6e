//! Compiles `cairn/v1/*.proto` with protox (no system `protoc` needed) and prost; with the
//! `grpc` feature also the tonic service of SPEC §5. The encoded descriptor set is kept in
//! OUT_DIR for gRPC server reflection.
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "cairn/v1/tx.proto",
    "cairn/v1/block.proto",
    "cairn/v1/consensus.proto",
    "cairn/v1/state.proto",
    "cairn/v1/p2p.proto",
    "cairn/v1/node.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for p in PROTOS {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("cairn_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure().build_server(grpc).build_client(grpc).bytes(".").compile_fds(fds)?;
    Ok(())
}
