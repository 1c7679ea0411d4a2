//! `tokenctl` end to end: the built example run as a person or a script would, its output,
//! its exit statuses, and the secrets it must never print.
//!
//! `cargo test` builds the example along with the tests.

#[path = "common/shell.rs"]
mod shell;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use api_tokens::{
    FileStore, HashingKey, Lifetime, ManualClock, NewToken, TokenManager, VerifyError,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use shell::{Run, Shell, assert_no_secret, id_of, secret_forms, tokenctl_binary};

#[test]
fn create_prints_the_token_alone_and_makes_a_private_key() {
    let shell = Shell::new();
    let run = shell.run(&[
        "--prefix",
        "acme",
        "create",
        "--name",
        "CI deploy",
        "--expires",
        "30d",
        "--owner",
        "team-infra",
        "--scope",
        "repo:read",
        "--meta",
        "ticket=none",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let token = run.stdout.trim_end();
    assert_eq!(run.stdout, format!("{token}\n"));
    assert!(token.starts_with("acme_") && token.len() == "acme_".len() + 66);

    let id = id_of(token);
    assert!(run.stderr.contains(id), "{}", run.stderr);
    assert!(run.stderr.contains("CI deploy"), "{}", run.stderr);
    assert!(run.stderr.contains("expires 20"), "{}", run.stderr);
    assert!(run.stderr.contains("only time"), "{}", run.stderr);
    assert!(run.stderr.contains("tokens.key"), "{}", run.stderr);
    assert_no_secret(&shell, token, &run.stderr);

    #[cfg(unix)]
    for path in [shell.store(), shell.key_file()] {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    let stored = String::from_utf8_lossy(&fs::read(shell.store()).unwrap()).into_owned();
    assert!(!stored.contains(token));
    assert!(!stored.contains(&secret_forms(&shell, token)[1]));

    // The second token reuses the key and the prefix the store recorded.
    let second = shell.run(&["create", "--name", "laptop"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stdout.starts_with("acme_"));
    assert!(!second.stderr.contains("key"), "{}", second.stderr);
}

#[test]
fn listings_show_details_and_never_secrets() {
    let shell = Shell::new();
    let ci = shell.create(&[
        "--name",
        "CI deploy",
        "--owner",
        "team-infra",
        "--scope",
        "repo:write",
        "--scope",
        "repo:read",
        "--expires",
        "2099-01-31",
    ]);
    let laptop = shell.create(&["--name", "laptop", "--expires", "never"]);

    let table = shell.run(&["list"]);
    assert_eq!(table.code, 0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    for heading in [
        "ID",
        "NAME",
        "OWNER",
        "SCOPES",
        "CREATED",
        "EXPIRES",
        "LAST USED",
    ] {
        assert!(lines[0].contains(heading), "{}", lines[0]);
    }
    // Newest first, columns aligned.
    assert!(lines[1].starts_with(id_of(&laptop)) && lines[2].starts_with(id_of(&ci)));
    let column = lines[0].find("EXPIRES").unwrap();
    assert_eq!(lines[1].find("never").unwrap(), column);
    assert_eq!(lines[2].find("2099-02-01T00:00:00Z").unwrap(), column);
    assert!(lines[2].contains("repo:read,repo:write") && lines[2].contains("team-infra"));

    let json = shell.run(&["list", "--json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let rows = parsed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["id"], id_of(&ci));
    assert_eq!(rows[1]["name"], "CI deploy");
    assert_eq!(rows[1]["owner"], "team-infra");
    assert_eq!(rows[1]["expires_at"], "2099-02-01T00:00:00Z");
    assert_eq!(rows[0]["expires_at"], serde_json::Value::Null);
    assert_eq!(rows[0]["last_used_at"], serde_json::Value::Null);

    let owned = shell.run(&["list", "--owner", "team-infra", "--json"]);
    let owned: serde_json::Value = serde_json::from_str(&owned.stdout).unwrap();
    assert_eq!(owned.as_array().unwrap().len(), 1);

    let show = shell.run(&["show", id_of(&ci)]);
    assert_eq!(show.code, 0);
    assert!(show.stdout.contains("CI deploy") && show.stdout.contains("repo:read, repo:write"));
    let show_json = shell.run(&["show", id_of(&ci), "--json"]);
    let one: serde_json::Value = serde_json::from_str(&show_json.stdout).unwrap();
    assert_eq!(
        one["scopes"],
        serde_json::json!(["repo:read", "repo:write"])
    );

    for run in [&table, &json, &owned_run(&shell), &show, &show_json] {
        for token in [&ci, &laptop] {
            assert_no_secret(&shell, token, &run.all_output());
        }
    }
}

fn owned_run(shell: &Shell) -> Run {
    shell.run(&["list", "--owner", "nobody"])
}

#[test]
fn verify_answers_with_its_exit_status_and_never_echoes_the_token() {
    let shell = Shell::new();
    let token = shell.create(&["--name", "checked"]);
    let id = id_of(&token);

    let by_argument = shell.run(&["verify", &token]);
    assert_eq!(by_argument.code, 0, "{by_argument:?}");
    assert_eq!(by_argument.stdout, format!("valid {id} checked\n"));
    for input in [format!("{token}\n"), format!("{token}\r\n"), token.clone()] {
        let by_stdin = shell.run_input(&["verify", "-"], &input);
        assert_eq!(by_stdin.code, 0, "{by_stdin:?}");
        assert_no_secret(&shell, &token, &by_stdin.all_output());
    }
    assert_eq!(shell.run_input(&["verify"], &token).code, 0);

    // One character changed: the checksum catches it.
    let mut typo = token.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'A' { 'B' } else { 'A' });
    let malformed = shell.run_input(&["verify", "-"], &typo);
    assert_eq!(
        (malformed.code, malformed.stdout.as_str()),
        (1, "malformed\n")
    );
    assert_eq!(shell.run_input(&["verify"], "  \n").stdout, "malformed\n");

    // A well-formed token under another key: not one of ours.
    let other_key = BASE64.encode([1u8; 32]);
    let mut foreign = shell.command(&["verify", "-"]);
    foreign.env("API_TOKENS_KEY", &other_key);
    let invalid = shell.run_with(foreign, Some(&token));
    assert_eq!((invalid.code, invalid.stdout.as_str()), (1, "invalid\n"));

    // Made two days ago to live for one.
    let clock = ManualClock::new(time::OffsetDateTime::now_utc() - time::Duration::days(2));
    let old = shell
        .manager(clock)
        .create(NewToken::new("old", Lifetime::For(time::Duration::days(1))))
        .unwrap();
    let old = old.token().expose_secret().to_owned();
    let expired = shell.run_input(&["verify", "-"], &old);
    assert_eq!((expired.code, expired.stdout.as_str()), (1, "expired\n"));

    for run in [&by_argument, &malformed, &invalid, &expired] {
        for secret in [&token, &old, &typo] {
            assert!(!run.all_output().contains(secret.as_str()), "{run:?}");
        }
    }

    // Verifying noted a last use, written when tokenctl exited.
    let listed = shell.run(&["show", id, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert!(shown["last_used_at"].is_string(), "{}", listed.stdout);
}

#[test]
fn creating_with_another_key_than_the_stores_tokens_warns() {
    let shell = Shell::new();
    let _ = shell.create(&["--name", "first"]);
    let same = shell.run(&["create", "--name", "same key"]);
    assert!(!same.stderr.contains("warning"), "{same:?}");

    let mut other = shell.command(&["create", "--name", "other key"]);
    other.env("API_TOKENS_KEY", BASE64.encode([1u8; 32]));
    let warned = shell.run_with(other, None);

    assert_eq!(warned.code, 0, "{warned:?}");
    assert!(
        warned
            .stderr
            .contains("warning: this store's tokens were hashed with another key")
    );
}

#[test]
fn delete_needs_a_terminal_or_yes() {
    let shell = Shell::new();
    let token = shell.create(&["--name", "doomed"]);
    let id = id_of(&token);

    let refused = shell.run(&["delete", id]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(shell.run_input(&["verify"], &token).code, 0);

    let deleted = shell.run(&["delete", id, "--yes"]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    assert!(deleted.stderr.contains(id) && deleted.stderr.contains("doomed"));
    assert_eq!(shell.run_input(&["verify"], &token).stdout, "invalid\n");

    let again = shell.run(&["delete", id, "--yes"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains(id));
    assert_eq!(shell.run(&["show", id]).code, 1);
}

#[test]
fn update_and_rotate_change_what_later_verifies() {
    let shell = Shell::new();
    let token = shell.create(&["--name", "before", "--scope", "a"]);
    let id = id_of(&token).to_owned();

    let updated = shell.run(&[
        "update",
        &id,
        "--name",
        "after",
        "--scope",
        "b",
        "--expires",
        "12h",
    ]);
    assert_eq!(updated.code, 0, "{updated:?}");
    assert!(updated.stdout.contains("after") && updated.stdout.contains("scopes:    b"));
    assert_eq!(shell.run(&["update", &id]).code, 2);
    assert_eq!(
        shell.run_input(&["verify"], &token).stdout,
        format!("valid {id} after\n")
    );

    let rotated = shell.run(&["rotate", &id, "--grace", "1h"]);
    assert_eq!(rotated.code, 0, "{rotated:?}");
    let new_token = rotated.stdout.trim_end().to_owned();
    assert_ne!(new_token, token);
    assert!(
        rotated.stderr.contains("keeps working until"),
        "{}",
        rotated.stderr
    );
    assert_no_secret(&shell, &token, &rotated.stderr);
    assert_no_secret(&shell, &new_token, &rotated.stderr);
    assert_eq!(shell.run_input(&["verify"], &token).code, 0);
    assert_eq!(shell.run_input(&["verify"], &new_token).code, 0);

    let new_id = id_of(&new_token).to_owned();
    let replaced = shell.run(&["rotate", &new_id]);
    assert_eq!(replaced.code, 0, "{replaced:?}");
    assert_eq!(shell.run_input(&["verify"], &new_token).stdout, "invalid\n");
}

#[test]
fn expiries_are_read_as_documented() {
    let shell = Shell::new();
    let cases = [
        ("2099-01-31", "2099-02-01T00:00:00Z"),
        ("2099-01-31T12:00:00Z", "2099-01-31T12:00:00Z"),
        ("2099-01-31T12:00:00+02:00", "2099-01-31T10:00:00Z"),
        ("never", "never"),
    ];
    for (given, shown) in cases {
        let token = shell.create(&["--name", given, "--expires", given]);
        let show = shell.run(&["show", id_of(&token)]);
        assert!(
            show.stdout.contains(&format!("expires:   {shown}\n")),
            "{given}: {}",
            show.stdout
        );
    }
    for refused in ["tomorrow", "30", "-3d", "2020-01-01", "0s", "1y"] {
        let run = shell.run(&["create", "--name", "x", "--expires", refused]);
        assert_eq!(run.code, 2, "{refused}: {run:?}");
        assert!(!run.stderr.trim().is_empty(), "{refused}: no message");
    }
}

#[test]
fn usage_errors_exit_with_two() {
    let shell = Shell::new();
    let missing_prefix = shell.run(&["create", "--name", "x"]);
    assert_eq!(missing_prefix.code, 2, "{missing_prefix:?}");
    assert!(missing_prefix.stderr.contains("--prefix"));
    assert!(!shell.store().exists() && !shell.key_file().exists());

    for args in [
        &[][..],
        &["frobnicate"],
        &["list", "--colour"],
        &["show", "not-an-id"],
        &["create"],
        &["--prefix", "Bad-Prefix", "create", "--name", "x"],
        &[
            "--prefix", "acme", "create", "--name", "x", "--meta", "novalue",
        ],
        &["--prefix", "acme", "create", "--name", "   "],
    ] {
        let run = shell.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }

    shell.create(&["--name", "exists"]);
    let other_prefix = shell.run(&["--prefix", "other", "list"]);
    assert_eq!(other_prefix.code, 2, "{other_prefix:?}");
    assert!(other_prefix.stderr.contains("acme"));
}

#[test]
fn store_errors_exit_with_three_and_name_the_file() {
    let shell = Shell::new();
    let missing = shell.run(&["list"]);
    assert_eq!(missing.code, 3, "{missing:?}");
    assert!(missing.stderr.contains("tokens.store"));

    let token = shell.create(&["--name", "one"]);
    let good = fs::read(shell.store()).unwrap();

    // Held by another writer.
    let holder = fs::File::open(shell.store()).unwrap();
    holder.lock().unwrap();
    let locked = shell.run(&["--lock-timeout", "0", "create", "--name", "blocked"]);
    assert_eq!(locked.code, 3, "{locked:?}");
    assert!(locked.stderr.contains("locked") && locked.stderr.contains("tokens.store"));
    // Reading goes on; the last use it notes is dropped rather than waited for.
    let read = shell.run_input(&["--lock-timeout", "0", "verify"], &token);
    assert_eq!(read.code, 0, "{read:?}");
    holder.unlock().unwrap();

    let mut damaged = good.clone();
    let last = damaged.len() - 3;
    damaged[last] ^= 0x20;
    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&9u32.to_le_bytes());
    newer[12..16].copy_from_slice(&(!9u32).to_le_bytes());
    for (bytes, words) in [
        (&damaged[..], "corrupt"),
        (&good[..1000], "corrupt"),
        (&b""[..], "empty"),
        (&b"name,hash\n"[..], "not a token store"),
        (&newer[..], "version 9"),
    ] {
        fs::write(shell.store(), bytes).unwrap();
        for args in [
            &["list"][..],
            &["create", "--name", "x"],
            &["verify", &token],
        ] {
            let run = shell.run(args);
            assert_eq!(run.code, 3, "{args:?}: {run:?}");
            assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
            assert!(run.stderr.contains("tokens.store"), "{}", run.stderr);
            assert!(run.stderr.contains(words), "{}", run.stderr);
            assert_no_secret(&shell, &token, &run.all_output());
            assert_eq!(
                fs::read(shell.store()).unwrap(),
                bytes,
                "the file was changed"
            );
        }
    }
}

#[test]
fn keys_come_from_the_flag_the_environment_or_beside_the_store() {
    let shell = Shell::new();
    let key = BASE64.encode([3u8; 32]);

    let mut from_env = shell.command(&["--prefix", "acme", "create", "--name", "env"]);
    from_env.env("API_TOKENS_KEY", &key);
    let created = shell.run_with(from_env, None);
    assert_eq!(created.code, 0, "{created:?}");
    assert!(
        !shell.key_file().exists(),
        "no key file when the environment has one"
    );
    let token = created.stdout.trim_end().to_owned();

    // Without the key, verifying is impossible and creating a new key is refused, as it
    // could not verify the tokens already there.
    let no_key = shell.run_input(&["verify"], &token);
    assert_eq!(no_key.code, 2, "{no_key:?}");
    let refused = shell.run(&["create", "--name", "second"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(!shell.key_file().exists());

    // Listing needs no key.
    assert_eq!(shell.run(&["list"]).code, 0);

    let key_path = shell.dir.path().join("elsewhere.key");
    fs::write(&key_path, format!("{key}\n")).unwrap();
    let path_text = key_path.to_str().unwrap();
    let with_file = shell.run_input(&["--key-file", path_text, "verify"], &token);
    assert_eq!(with_file.code, 0, "{with_file:?}");

    let mut bad_env = shell.command(&["verify", "-"]);
    bad_env.env("API_TOKENS_KEY", "not base64!");
    assert_eq!(shell.run_with(bad_env, Some(&token)).code, 2);
    let mut short = shell.command(&["verify", "-"]);
    short.env("API_TOKENS_KEY", BASE64.encode([1u8; 8]));
    assert_eq!(shell.run_with(short, Some(&token)).code, 2);
    let missing_file = shell.run_input(&["--key-file", "nope.key", "verify"], &token);
    assert_eq!(missing_file.code, 2, "{missing_file:?}");
}

#[test]
fn purge_removes_expired_tokens() {
    let shell = Shell::new();
    let live = shell.create(&["--name", "live"]);
    let clock = ManualClock::new(time::OffsetDateTime::now_utc() - time::Duration::days(2));
    let manager = shell.manager(clock);
    let old = manager
        .create(NewToken::new(
            "old",
            Lifetime::For(time::Duration::hours(1)),
        ))
        .unwrap();
    drop(manager);

    let purged = shell.run(&["purge-expired"]);
    assert_eq!(purged.code, 0, "{purged:?}");
    assert_eq!(purged.stdout, format!("{}\n", old.info().id));
    let listed = shell.run(&["list"]);
    assert!(listed.stdout.contains(id_of(&live)));
    assert!(!listed.stdout.contains(old.info().id.as_str()));
}

/// A service keeps a store open while an operator runs `tokenctl` against the same file.
#[test]
fn a_running_service_sees_what_tokenctl_does() {
    let shell = Shell::new();
    shell.create(&["--name", "first"]);
    let interval = Duration::from_millis(300);
    let key = HashingKey::new(&shell.key_bytes()).unwrap();
    let store = FileStore::options()
        .refresh_interval(interval)
        .open(shell.store())
        .unwrap();
    let service = TokenManager::builder(store, key, "acme").build().unwrap();

    // Created by another process: verifies at once.
    let token = shell.create(&["--name", "made by the operator"]);
    assert_eq!(
        service.verify(&token).unwrap().name(),
        "made by the operator"
    );

    // Deleted by another process: stops verifying within the refresh interval.
    let deleted = shell.run(&["delete", id_of(&token), "--yes"]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    let acknowledged = Instant::now();
    loop {
        match service.verify(&token) {
            Ok(_) => assert!(
                acknowledged.elapsed() < interval,
                "still verifying {:?} after the deletion",
                acknowledged.elapsed()
            ),
            Err(VerifyError::Invalid) => break,
            Err(other) => panic!("{other:?}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_key_file_name_follows_the_store_name() {
    let shell = Shell::new();
    let run = shell.run(&[
        "--store",
        "team.tokens",
        "--prefix",
        "acme",
        "create",
        "--name",
        "x",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(shell.dir.path().join("team.key").exists());
    let odd = shell.run(&[
        "--store", "a.key", "--prefix", "acme", "create", "--name", "x",
    ]);
    assert_eq!(odd.code, 0, "{odd:?}");
    assert!(shell.dir.path().join("a.key.key").exists());
    assert!(Path::new(&shell.dir.path().join("a.key")).exists());
}

/// On a terminal, `delete` asks first. `script` (part of every Linux system) gives
/// `tokenctl` a terminal and types what it reads.
#[cfg(target_os = "linux")]
#[test]
fn delete_asks_for_confirmation_on_a_terminal() {
    let shell = Shell::new();
    let token = shell.create(&["--name", "asked"]);
    let id = id_of(&token);
    let line = format!("'{}' delete {id}", tokenctl_binary().display());

    for (answer, code) in [("n\n", 1), ("\n", 1), ("y\n", 0)] {
        let mut on_terminal = Command::new("script");
        on_terminal
            .args(["--quiet", "--return", "--command", &line, "/dev/null"])
            .current_dir(shell.dir.path())
            .env_remove("API_TOKENS_KEY");
        let run = shell.run_with(on_terminal, Some(answer));
        assert_eq!(run.code, code, "{answer:?}: {run:?}");
        assert!(run.stdout.contains("Delete token"), "{run:?}");
        assert!(run.stdout.contains("asked"), "{run:?}");
        let verified = shell.run_input(&["verify"], &token);
        let expected = if code == 0 { "invalid\n" } else { "valid" };
        assert!(
            verified.stdout.starts_with(expected),
            "{answer:?}: {verified:?}"
        );
    }
}
