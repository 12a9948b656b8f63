//! `fundledger token hash`: the access config line of a token read from standard input, so
//! that a token never appears in a command line or a shell history.

use std::io::Read;

use anyhow::Context;

use crate::api::access::{AUTHORIZATION_BYTES_MAX, hash_token};

/// Below this many characters a token is guessable however it is stored: the command
/// says so.
const TOKEN_CHARS_ADVISED_MIN: usize = 20;

/// Arguments of `fundledger token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Read a token from standard input and print its access config line,
    /// `argon2 = "$argon2id$..."` (a fresh random salt each time). Surrounding whitespace,
    /// such as the newline of `echo`, is not part of the token, as the server trims it.
    Hash,
}

/// Runs `fundledger token …`.
pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Hash => hash(),
    }
}

fn hash() -> anyhow::Result<()> {
    let mut text = String::new();
    // One byte more than a token may have, so that a longer one is refused, not cut.
    let limit = u64::try_from(AUTHORIZATION_BYTES_MAX + 1).unwrap_or(u64::MAX);
    std::io::stdin()
        .take(limit)
        .read_to_string(&mut text)
        .context("reading the token from standard input")?;
    let token = text.trim();
    let line = hash_token(token).context("hashing the token")?;
    if token.chars().count() < TOKEN_CHARS_ADVISED_MIN {
        eprintln!(
            "fundledger: note: a token of {} characters can be guessed online whatever the \
             config stores; prefer at least {TOKEN_CHARS_ADVISED_MIN} random characters \
             (head -c 24 /dev/urandom | base64)",
            token.chars().count()
        );
    }
    println!("argon2 = \"{line}\"");
    Ok(())
}
