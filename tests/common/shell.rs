//! A directory holding one token store, and ways to run `tokenctl` on it as a person or a
//! script would; shared by the tests of the example programs.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use api_tokens::{FileStore, HashingKey, ManualClock, TokenManager};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tempfile::TempDir;

/// The path of an example program that `cargo test` built along with the tests.
pub fn example_binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("the test knows its own path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it, as does `cargo build --examples`",
        path.display()
    );
    path
}

pub fn tokenctl_binary() -> PathBuf {
    example_binary("tokenctl")
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A directory holding one store, and ways to run `tokenctl` on it.
pub struct Shell {
    pub dir: TempDir,
}

impl Shell {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("tokens.store")
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("tokens.key")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(tokenctl_binary());
        command
            .current_dir(self.dir.path())
            .env_remove("API_TOKENS_KEY")
            .args(args);
        command
    }

    pub fn run_with(&self, mut command: Command, input: Option<&str>) -> Run {
        command
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("tokenctl starts");
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            // tokenctl may exit before reading, when it fails early; that is its answer.
            match stdin.write_all(input.as_bytes()) {
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                written => written.expect("tokenctl reads its input"),
            }
        }
        let output = child.wait_with_output().expect("tokenctl ends");
        Run {
            code: output.status.code().expect("tokenctl exits, not killed"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(self.command(args), None)
    }

    pub fn run_input(&self, args: &[&str], input: &str) -> Run {
        self.run_with(self.command(args), Some(input))
    }

    /// Creates a token and returns it, checking that it alone was printed.
    pub fn create(&self, args: &[&str]) -> String {
        let mut all = vec!["--prefix", "acme", "create"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        assert_eq!(run.code, 0, "{run:?}");
        let token = run.stdout.strip_suffix('\n').expect("a line").to_owned();
        assert!(!token.contains('\n'), "only the token goes to stdout");
        token
    }

    pub fn key_bytes(&self) -> Vec<u8> {
        BASE64
            .decode(
                fs::read_to_string(self.key_file())
                    .expect("the key file reads")
                    .trim(),
            )
            .expect("the key file holds base64")
    }

    /// A manager over the same store and key, for what the shell cannot do (such as
    /// creating tokens in the past).
    pub fn manager(&self, clock: ManualClock) -> TokenManager<FileStore> {
        let key = HashingKey::new(&self.key_bytes()).expect("the key file holds a key");
        let store = FileStore::open(self.store()).expect("the store opens");
        TokenManager::builder(store, key, "acme")
            .clock(clock)
            .build()
            .expect("the configuration is valid")
    }
}

pub fn id_of(token: &str) -> &str {
    &token["acme_".len().."acme_".len() + 17]
}

/// Every form in which a token's secret could leak: the token, its secret part, and the
/// stored HMAC in base64 and hex.
pub fn secret_forms(shell: &Shell, token: &str) -> Vec<String> {
    let secret = &token["acme_".len() + 17.."acme_".len() + 60];
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &shell.key_bytes());
    let tag = ring::hmac::sign(&key, secret.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    vec![
        token.to_owned(),
        secret.to_owned(),
        BASE64.encode(tag.as_ref()),
        hex,
    ]
}

pub fn assert_no_secret(shell: &Shell, token: &str, output: &str) {
    for form in secret_forms(shell, token) {
        assert!(!output.contains(&form), "a secret leaked into: {output}");
    }
}
