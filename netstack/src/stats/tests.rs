use super::*;

#[test]
fn names_carry_their_group() {
    for c in Counter::ALL {
        assert!(c.name().starts_with(c.group()), "{c:?}");
    }
    assert_eq!(
        Counter::TcpExtListenOverflows.name(),
        "TcpExtListenOverflows"
    );
    assert_eq!(Counter::TcpExtListenOverflows.group(), "TcpExt");
    assert_eq!(Counter::IpInReceives.group(), "Ip");
    // Names are unique.
    let mut names: Vec<_> = Counter::ALL.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Counter::ALL.len());
}

#[test]
fn count_snapshot_lookup_and_delta() {
    let mut c = Counters::default();
    c.inc(Counter::TcpInSegs);
    c.add(Counter::TcpInSegs, 4);
    c.inc(Counter::TcpCurrEstab);
    let before = c.snapshot();
    c.inc(Counter::TcpExtListenOverflows);
    c.dec(Counter::TcpCurrEstab);
    c.dec(Counter::TcpCurrEstab);
    let after = c.snapshot();
    assert_eq!(after.get(Counter::TcpInSegs), 5);
    assert_eq!(after.by_name("TcpExtListenOverflows"), Some(1));
    assert_eq!(after.by_name("NoSuchCounter"), None);
    assert_eq!(after.get(Counter::TcpCurrEstab), 0);
    let d = after.delta(&before);
    assert_eq!(d.get(Counter::TcpInSegs), 0);
    assert_eq!(d.get(Counter::TcpExtListenOverflows), 1);
}

#[test]
fn prints_like_nstat() {
    let mut c = Counters::default();
    c.add(Counter::TcpOutSegs, 12);
    c.inc(Counter::TcpExtSyncookiesSent);
    let text = c.snapshot().to_string();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines[0], "#sockeye");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("TcpOutSegs ") && lines[1].contains(" 12 "));
    assert!(lines[2].starts_with("TcpExtSyncookiesSent"));
}
