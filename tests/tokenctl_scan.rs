//! `tokenctl scan` and `tokenctl list --expiring-within` end to end.

mod common;
#[path = "common/shell.rs"]
mod shell;

use std::fs;
use std::process::Command;

use api_tokens::{HashingKey, Lifetime, ManualClock, MemoryStore, NewToken, TokenManager};
use serde_json::Value;
use shell::{Shell, assert_no_secret, id_of, tokenctl_binary};
use time::{Duration, OffsetDateTime};

/// A store holding a live token, a deleted one and an expired one.
struct Leaks {
    shell: Shell,
    live: String,
    deleted: String,
    expired: String,
}

impl Leaks {
    fn new() -> Self {
        let shell = Shell::new();
        let live = shell.create(&["--name", "CI deploy"]);
        let deleted = shell.create(&["--name", "old laptop"]);
        assert_eq!(shell.run(&["delete", id_of(&deleted), "--yes"]).code, 0);
        let an_hour_ago = ManualClock::new(OffsetDateTime::now_utc() - Duration::hours(2));
        let expired = shell
            .manager(an_hour_ago)
            .create(NewToken::new("expired", Lifetime::For(Duration::hours(1))))
            .unwrap()
            .token()
            .expose_secret()
            .to_owned();
        Self {
            shell,
            live,
            deleted,
            expired,
        }
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.shell.dir.path().join(name), text).unwrap();
    }

    fn assert_no_secret(&self, output: &str) {
        for token in [&self.live, &self.deleted, &self.expired] {
            assert_no_secret(&self.shell, token, output);
        }
    }
}

/// The same token with its last checksum digit changed: the same shape, a bad checksum.
fn look_alike(token: &str) -> String {
    let last = if token.ends_with('A') { 'B' } else { 'A' };
    format!("{}{last}", &token[..token.len() - 1])
}

/// A token of another service, with another prefix.
fn foreign_token() -> String {
    let key = HashingKey::new(&[9; 32]).unwrap();
    let other = TokenManager::builder(MemoryStore::new(), key, "other")
        .build()
        .unwrap();
    let created = other
        .create(NewToken::new("theirs", Lifetime::Never))
        .unwrap();
    created.token().expose_secret().to_owned()
}

#[test]
fn scan_says_where_each_token_is_and_whether_it_is_live() {
    let leaks = Leaks::new();
    let (live, deleted, expired) = (&leaks.live, &leaks.deleted, &leaks.expired);
    let text = format!(
        "{live} at the start\n\
         in the middle {deleted} of a line\n\
         at the end: {expired}\n\
         {{\"token\": \"{live}\", \"user\": \"alice\"}}\n\
         GET https://api.example.test/v1?access_token={deleted}&page=2\n\
         look-alike {} glued x{live} {live}x foreign {}\n",
        look_alike(live),
        foreign_token()
    );
    leaks.write("app.log", &text);

    let run = leaks.shell.run(&["scan", "app.log"]);

    assert_eq!(run.code, 1, "a live token was found: {run:?}");
    let (live, deleted, expired) = (id_of(live), id_of(deleted), id_of(expired));
    assert_eq!(
        run.stdout,
        format!(
            "app.log:1:1: {live} live \"CI deploy\"\n\
             app.log:2:15: {deleted} unknown\n\
             app.log:3:13: {expired} expired\n\
             app.log:4:12: {live} live \"CI deploy\"\n\
             app.log:5:46: {deleted} unknown\n"
        )
    );
    assert!(
        run.stderr.contains("found 3 token(s), 1 of them live"),
        "{}",
        run.stderr
    );
    leaks.assert_no_secret(&run.all_output());

    // Finding a token does not count as using it.
    let listed = leaks.shell.run(&["show", live, "--json"]);
    let shown: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(shown["last_used_at"], Value::Null);
}

#[test]
fn scan_reads_stdin_and_several_files_and_exits_0_when_nothing_is_live() {
    let leaks = Leaks::new();

    let piped = leaks
        .shell
        .run_input(&["scan"], &format!("a\nb {}\n", leaks.deleted));
    assert_eq!(piped.code, 0, "{piped:?}");
    assert_eq!(
        piped.stdout,
        format!("<stdin>:2:3: {} unknown\n", id_of(&leaks.deleted))
    );

    let empty = leaks.shell.run_input(&["scan", "-"], "");
    assert_eq!(empty.code, 0, "{empty:?}");
    assert_eq!(empty.stdout, "");

    leaks.write("one.txt", &format!("{}\n", leaks.expired));
    leaks.write("two.txt", &format!("\n\n  {}", leaks.live));
    let both = leaks.shell.run(&["scan", "one.txt", "two.txt"]);
    assert_eq!(both.code, 1, "{both:?}");
    assert_eq!(
        both.stdout,
        format!(
            "one.txt:1:1: {} expired\ntwo.txt:3:3: {} live \"CI deploy\"\n",
            id_of(&leaks.expired),
            id_of(&leaks.live)
        )
    );
}

#[test]
fn scan_reports_unreadable_files_after_scanning_the_others() {
    let leaks = Leaks::new();
    leaks.write("here.txt", &leaks.live);

    let run = leaks.shell.run(&["scan", "missing.txt", "here.txt"]);

    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("cannot read missing.txt"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains(id_of(&leaks.live)), "{run:?}");
}

#[test]
fn scan_needs_the_key() {
    let leaks = Leaks::new();
    fs::remove_file(leaks.shell.key_file()).unwrap();

    let run = leaks.shell.run_input(&["scan"], &leaks.live);

    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no hashing key"), "{}", run.stderr);
}

#[test]
fn scan_revoke_deletes_the_live_tokens_found() {
    let leaks = Leaks::new();
    let other = leaks.shell.create(&["--name", "not leaked"]);
    leaks.write(
        "leak.txt",
        &format!("{0} {0}\n{1}\n", leaks.live, leaks.expired),
    );

    let unasked = leaks.shell.run(&["scan", "--revoke", "leak.txt"]);
    assert_eq!(unasked.code, 2, "{unasked:?}");
    assert!(unasked.stderr.contains("--yes"), "{}", unasked.stderr);
    let from_stdin = leaks.shell.run_input(&["scan", "--revoke"], &leaks.live);
    assert_eq!(from_stdin.code, 2, "{from_stdin:?}");
    assert_eq!(leaks.shell.run_input(&["verify"], &leaks.live).code, 0);

    let revoked = leaks.shell.run(&["scan", "--revoke", "--yes", "leak.txt"]);
    assert_eq!(revoked.code, 1, "live tokens were found: {revoked:?}");
    let id = id_of(&leaks.live);
    assert_eq!(
        revoked
            .stderr
            .matches(&format!("revoked token {id} \"CI deploy\""))
            .count(),
        1,
        "{}",
        revoked.stderr
    );
    leaks.assert_no_secret(&revoked.all_output());

    assert_eq!(
        leaks.shell.run_input(&["verify"], &leaks.live).stdout,
        "invalid\n"
    );
    assert_eq!(leaks.shell.run_input(&["verify"], &other).code, 0);
    let listed = leaks.shell.run(&["list"]);
    assert!(
        listed.stdout.contains(id_of(&leaks.expired)),
        "expired tokens are left"
    );
    let again = leaks.shell.run(&["scan", "--revoke", "--yes", "leak.txt"]);
    assert_eq!(again.code, 0, "{again:?}");
}

/// On a terminal, `scan --revoke` asks before each deletion, as `delete` does. `script`
/// (part of every Linux system) gives `tokenctl` a terminal and types what it reads.
#[cfg(target_os = "linux")]
#[test]
fn scan_revoke_asks_on_a_terminal() {
    let leaks = Leaks::new();
    let second = leaks.shell.create(&["--name", "second"]);
    leaks.write("leak.txt", &format!("{} {second}\n", leaks.live));
    let line = format!("'{}' scan --revoke leak.txt", tokenctl_binary().display());

    let mut on_terminal = Command::new("script");
    on_terminal
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .current_dir(leaks.shell.dir.path())
        .env_remove("API_TOKENS_KEY");
    let run = leaks.shell.run_with(on_terminal, Some("n\ny\n"));

    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout.matches("Delete token").count(), 2, "{run:?}");
    assert_eq!(leaks.shell.run_input(&["verify"], &leaks.live).code, 0);
    assert_eq!(
        leaks.shell.run_input(&["verify"], &second).stdout,
        "invalid\n"
    );
}

#[test]
fn scan_finds_tokens_across_the_pieces_of_a_big_file() {
    let leaks = Leaks::new();
    // A first line of 100 000 characters, a token straddling the first 64 KiB, and one
    // after a word far longer than any token.
    let mut text = "x ".repeat(32_768 - 20);
    text.push_str(&leaks.live);
    text.push(' ');
    text.push_str(&"y".repeat(100_000 - text.len()));
    text.push('\n');
    text.push_str(&"z".repeat(200_000));
    text.push(' ');
    text.push_str(&leaks.live);
    leaks.write("big.txt", &text);

    let run = leaks.shell.run(&["scan", "big.txt"]);

    let id = id_of(&leaks.live);
    assert_eq!(
        run.stdout,
        format!(
            "big.txt:1:65497: {id} live \"CI deploy\"\nbig.txt:2:200002: {id} live \"CI deploy\"\n"
        )
    );
}

#[test]
fn list_expiring_within_shows_the_tokens_to_remind_about_soonest_first() {
    let shell = Shell::new();
    let in_three_days = shell.create(&["--name", "three", "--expires", "3d", "--owner", "ann"]);
    let in_one_day = shell.create(&["--name", "one", "--expires", "1d"]);
    let _later = shell.create(&["--name", "later", "--expires", "30d"]);
    let _never = shell.create(&["--name", "never", "--expires", "never"]);

    let table = shell.run(&["list", "--expiring-within", "7d"]);
    assert_eq!(table.code, 0, "{table:?}");
    let rows: Vec<&str> = table.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", table.stdout);
    assert!(rows[0].starts_with(id_of(&in_one_day)), "{}", table.stdout);
    assert!(
        rows[1].starts_with(id_of(&in_three_days)),
        "{}",
        table.stdout
    );

    let json = shell.run(&["list", "--expiring-within", "2d", "--json"]);
    let parsed: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 1);
    assert_eq!(parsed[0]["name"], "one");

    let owned = shell.run(&[
        "list",
        "--expiring-within",
        "1w",
        "--owner",
        "ann",
        "--json",
    ]);
    let parsed: Value = serde_json::from_str(&owned.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 1);
    assert_eq!(parsed[0]["name"], "three");

    let none = shell.run(&["list", "--expiring-within", "1h"]);
    assert_eq!(
        none.stdout.lines().count(),
        1,
        "the heading only: {}",
        none.stdout
    );

    let wrong = shell.run(&["list", "--expiring-within", "soon"]);
    assert_eq!(wrong.code, 2, "{wrong:?}");
}
