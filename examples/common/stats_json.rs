//! The stack's state as JSON (the http example's `GET /stats`): every counter by its `nstat`
//! name, every listener's queues and counters, and the TCP socket table.
//!
//! ```text
//! {"counters": {"IpInReceives": 12, ...},
//!  "listeners": [{"local": "127.0.0.1:8080", "backlog": 1024, "accept_queue_len": 0, ...}],
//!  "sockets": [{"state": "LISTEN", "local": "127.0.0.1:8080", "remote": "0.0.0.0:0", ...}]}
//! ```

use serde_json::{Map, Value, json};

/// The running stack's counters, listeners and sockets.
pub fn stats() -> Value {
    let counters: Map<String, Value> = sockeye::stack::counters()
        .iter()
        .map(|(c, v)| (c.name().to_string(), Value::from(v)))
        .collect();
    let listeners: Vec<Value> = sockeye::stack::listeners()
        .iter()
        .map(|l| {
            let s = &l.stats;
            json!({
                "local": l.local.to_string(),
                "backlog": s.backlog,
                "syn_backlog": s.syn_backlog,
                "accept_queue_len": s.accept_queue_len,
                "syn_queue_len": s.syn_queue_len,
                "overflows": s.overflows,
                "drops": s.drops,
                "syncookies_sent": s.syncookies_sent,
                "syncookies_recv": s.syncookies_recv,
                "syncookies_failed": s.syncookies_failed,
                "embryonic_rsts": s.embryonic_rsts,
                "established": s.established,
                "accepted": s.accepted,
            })
        })
        .collect();
    let table = sockeye::stack::sockets();
    let sockets: Vec<Value> = table
        .entries()
        .iter()
        .map(|e| {
            let timer = e.timer.map(|t| {
                json!({
                    "kind": t.kind.name(),
                    "left_ms": table.timer_left(e).map_or(0, |d| d.as_millis() as u64),
                    "count": t.count,
                })
            });
            json!({
                "state": e.state.name(),
                "local": e.local.to_string(),
                "remote": e.remote.to_string(),
                "recv_q": e.recv_q,
                "send_q": e.send_q,
                "orphan": e.orphan,
                "timer": timer,
                "skmem": {
                    "rmem_alloc": e.memory.rmem_alloc,
                    "rcvbuf": e.memory.rcvbuf,
                    "wmem_alloc": e.memory.wmem_alloc,
                    "sndbuf": e.memory.sndbuf,
                },
            })
        })
        .collect();
    json!({ "counters": counters, "listeners": listeners, "sockets": sockets })
}
