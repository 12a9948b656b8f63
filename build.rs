//! Generates the gRPC code from `proto/` without a system `protoc`: protox compiles the
//! protos to a descriptor set in pure Rust, tonic-prost-build turns it into Rust, and the
//! encoded descriptor set is kept for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/fundledger/v1/fundledger.proto",
        "proto/fundledger/v1/ledger.proto",
    ];
    for proto in &protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-changed=proto");
    let descriptor_set = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("fundledger_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptor_set),
    )?;
    tonic_prost_build::configure().compile_fds(descriptor_set)?;
    Ok(())
}
