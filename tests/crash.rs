//! Writers killed with SIGKILL at random moments, again and again: after each kill the
//! store opens and holds exactly what was acknowledged, give or take the one change in
//! flight. Also several processes writing one store at once.
//!
//! The writer is the `churn` example, which `cargo test` builds along with the tests.

#[path = "common/shell.rs"]
mod shell;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api_tokens::{FileStore, StoreError, TokenStore};

/// Stop killing after this many rounds, or this long, whichever comes first.
const ROUNDS: usize = 150;
const TIME_BUDGET: Duration = Duration::from_secs(25);

fn churn(path: &Path, extra: &[&str]) -> Child {
    Command::new(shell::example_binary("churn"))
        .arg(path)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the churn example starts")
}

/// Reads the child's output lines on a thread, so that a full pipe never blocks it.
fn collect_lines(child: &mut Child) -> thread::JoinHandle<Vec<String>> {
    let stdout = child.stdout.take().expect("stdout is piped");
    thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect()
    })
}

/// The ids in the store at `path`, or none if the file was never made.
fn stored_ids(path: &Path) -> BTreeSet<String> {
    match FileStore::options().create(false).open(path) {
        Ok(store) => store
            .list(None)
            .expect("an open store lists its records")
            .iter()
            .map(|record| record.id().to_string())
            .collect(),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            BTreeSet::new()
        }
        Err(error) => panic!("the store does not open after a kill: {error}"),
    }
}

/// A small generator for the kill delays, seeded from the clock and printed, so that a
/// failing run can be told apart from the next.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

#[test]
fn writers_killed_at_random_moments_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.store");
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    println!("seed {seed}");
    let mut random = Random(u64::from(seed) | 1);

    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut ever_acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut acknowledged = 0;
    let start = Instant::now();
    let mut rounds = 0;
    while rounds < ROUNDS && start.elapsed() < TIME_BUDGET {
        rounds += 1;
        // A small compaction threshold, so that kills land in compactions too.
        let mut child = churn(&path, &["--compact-after", "4096"]);
        let lines = collect_lines(&mut child);
        thread::sleep(Duration::from_millis(random.below(80)));
        child.kill().unwrap();
        child.wait().unwrap();

        let mut in_flight_delete = None;
        for line in lines.join().unwrap() {
            let (what, id) = line.split_once(' ').unwrap();
            let id = id.to_owned();
            match what {
                "created" => {
                    assert!(expected.insert(id.clone()));
                    ever_acknowledged.insert(id);
                    acknowledged += 1;
                }
                "deleting" => in_flight_delete = Some(id),
                "deleted" => {
                    assert!(expected.remove(&id));
                    in_flight_delete = None;
                    acknowledged += 1;
                }
                other => panic!("unexpected output {other}"),
            }
        }

        let stored = stored_ids(&path);
        // Every acknowledged token is there, except one whose deletion was in flight.
        for id in expected.difference(&stored) {
            assert_eq!(
                Some(id),
                in_flight_delete.as_ref(),
                "round {rounds}: acknowledged token {id} is missing"
            );
        }
        // Anything else is the one creation in flight, never a token deleted before.
        let extra: Vec<_> = stored.difference(&expected).collect();
        assert!(
            extra.len() <= 1,
            "round {rounds}: unexpected tokens {extra:?}"
        );
        for id in extra {
            assert!(
                !ever_acknowledged.contains(id),
                "round {rounds}: deleted token {id} came back"
            );
            ever_acknowledged.insert(id.clone());
        }
        // What was in flight is settled now, one way or the other.
        expected = stored;
    }
    println!("{rounds} kills, {acknowledged} acknowledged changes");
    assert!(rounds >= 20, "only {rounds} rounds ran");
    assert!(acknowledged > 0);
}

#[test]
fn processes_creating_at_once_keep_every_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.store");
    // Both compact often, so each also has to follow files the other put in place.
    let args = ["--creates-only", "--count", "60", "--compact-after", "2048"];
    let mut children: Vec<Child> = (0..3).map(|_| churn(&path, &args)).collect();
    let outputs: Vec<_> = children.iter_mut().map(collect_lines).collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }

    let mut created = BTreeSet::new();
    for output in outputs {
        let lines = output.join().unwrap();
        assert_eq!(lines.len(), 60);
        for line in lines {
            created.insert(line.strip_prefix("created ").unwrap().to_owned());
        }
    }
    assert_eq!(created.len(), 180);
    assert_eq!(stored_ids(&path), created);
}
