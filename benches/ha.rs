//! The HA scenario machine: how much it costs on top of the least work that
//! produces the same output.
//!
//! Three groups, each with a `baseline` the ratios are taken against:
//!
//! - `ha/restore`: restoring a saved state (parse, validate, check
//!   consistency) and saving it, against parsing the same bytes into a
//!   generic `serde_json::Value` (throughput in bytes of saved state);
//! - `ha/heartbeat-round`: one Is Alive round over 8 links (timeout, the
//!   check actions polled, the 8 results fed back), against cloning the same
//!   8 actions (throughput in links);
//! - `ha/switchover-cycle`: a whole switchover then switchback with 5
//!   redirection steps, every action polled and reported, against cloning
//!   the same actions (throughput in actions).
//!
//! ```text
//! cargo bench -p rha-benches --bench ha -- --warm-up-time 1 --measurement-time 3
//! python3 benches/ratios.py
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use rha_core::ha::{
    Action, ActionKind, CheckMethod, Command, Host, Instant, Link, Observation, RedirectStep,
    Scenario, ScenarioConfig, ScenarioType, State,
};

fn host(name: &str, last: u8) -> Host {
    Host {
        name: name.into(),
        address: std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, last)),
        prefix_len: 24,
    }
}

fn config(links: usize) -> ScenarioConfig {
    let mut c = ScenarioConfig::new(
        "bench",
        ScenarioType::FileServer,
        host("alpha", 1),
        host("beta", 2),
    );
    c.is_alive.links = (0..links)
        .map(|i| Link {
            name: format!("link{i}"),
            method: CheckMethod::ping(),
        })
        .collect();
    c.redirection = (0..5)
        .map(|i| RedirectStep::MoveIp {
            address: std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 100 + i)),
            prefix_len: 24,
            master_interface: "eth0".into(),
            replica_interface: "eth0".into(),
        })
        .collect();
    c
}

/// Polls every action, completing those awaited; returns them.
fn settle(s: &mut Scenario, now: Instant) -> Vec<Action> {
    let mut seen = Vec::new();
    while let Some(a) = s.poll_action() {
        if let ActionKind::CheckAlive { link, .. } = a.kind {
            s.handle_observation(Observation::Heartbeat { link, alive: true }, now);
        } else if a.awaits_report {
            s.handle_observation(Observation::ActionCompleted { id: a.id }, now);
        }
        seen.push(a);
    }
    while s.poll_event().is_some() {}
    seen
}

fn replicating(links: usize) -> Scenario {
    let mut s = Scenario::new(config(links)).expect("valid bench configuration");
    let t = Instant::from_nanos(0);
    s.handle_command(Command::Start, t)
        .expect("stopped scenario starts");
    settle(&mut s, t);
    assert_eq!(s.state(), State::Replicating);
    s
}

fn cycle(s: &mut Scenario, now: Instant) -> Vec<Action> {
    s.handle_command(
        Command::Switchover {
            confirm: rha_core::ha::CONFIRM_SWITCHOVER.into(),
        },
        now,
    )
    .expect("switchover from replicating");
    let mut all = settle(s, now);
    s.handle_command(
        Command::Switchback {
            master_restored: false,
        },
        now,
    )
    .expect("switchback from switched over");
    all.extend(settle(s, now));
    assert_eq!(s.state(), State::Replicating);
    all
}

fn bench(c: &mut Criterion) {
    // Restore and save.
    let mut s = replicating(2);
    s.handle_command(
        Command::Switchover {
            confirm: rha_core::ha::CONFIRM_SWITCHOVER.into(),
        },
        Instant::from_nanos(1),
    )
    .expect("switchover");
    let saved = s.save();
    let mut g = c.benchmark_group("ha/restore");
    g.throughput(Throughput::Bytes(saved.len() as u64));
    g.bench_function("baseline", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(&saved)).map(|v| v.is_object())
        })
    });
    g.bench_function("restore", |b| {
        b.iter(|| Scenario::restore(black_box(&saved)).map(|s| s.state()))
    });
    g.bench_function("save", |b| b.iter(|| black_box(&s).save().len()));
    g.finish();

    // One heartbeat round over 8 links.
    let links = 8;
    let mut s = replicating(links);
    let mut now = s.poll_timeout().expect("Is Alive runs");
    s.handle_timeout(now);
    let round: Vec<Action> = settle(&mut s, now);
    assert_eq!(round.len(), links);
    let mut g = c.benchmark_group("ha/heartbeat-round");
    g.throughput(Throughput::Elements(links as u64));
    g.bench_function("baseline", |b| b.iter(|| black_box(&round).to_vec().len()));
    g.bench_function("round", |b| {
        b.iter(|| {
            now = now.saturating_add(Duration::from_secs(30));
            s.handle_timeout(now);
            settle(&mut s, now).len()
        })
    });
    g.finish();

    // A whole switchover and switchback.
    let mut s = replicating(2);
    let t = Instant::from_nanos(1);
    let actions = cycle(&mut s, t);
    let mut g = c.benchmark_group("ha/switchover-cycle");
    g.throughput(Throughput::Elements(actions.len() as u64));
    g.bench_function("baseline", |b| {
        b.iter(|| black_box(&actions).to_vec().len())
    });
    g.bench_function("cycle", |b| b.iter(|| cycle(&mut s, t).len()));
    g.finish();
}

// What `criterion_group!` and `criterion_main!` expand to, without the
// undocumented `pub fn` they generate.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
