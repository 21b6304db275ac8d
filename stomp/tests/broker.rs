//! The simple broker without sockets: routing, ordering, queues, acknowledgments, limits.

use std::sync::Arc;

use bytes::Bytes;
use rfc6455_stomp::app::message;
use rfc6455_stomp::broker::{
    BrokerConfig, BrokerError, Output, Route, SessionId, SimpleBroker, Target,
};
use rfc6455_stomp::{AckMode, Frame, MessageId, message_frame};

const A: SessionId = SessionId(1);
const B: SessionId = SessionId(2);
const C: SessionId = SessionId(3);

fn send(destination: &str, body: &'static str) -> Frame {
    message(destination, &[], Bytes::from_static(body.as_bytes()))
}

fn outputs(broker: &mut SimpleBroker) -> Vec<Output> {
    std::iter::from_fn(|| broker.poll_output()).collect()
}

fn routes(broker: &mut SimpleBroker) -> Vec<Route> {
    outputs(broker)
        .into_iter()
        .map(|o| match o {
            Output::Route(r) => r,
            other => panic!("expected a route, got {other:?}"),
        })
        .collect()
}

/// (session, subscription, id, body) of every delivery, in order.
fn deliveries(broker: &mut SimpleBroker) -> Vec<(u64, String, u64, String)> {
    routes(broker)
        .into_iter()
        .flat_map(|r| {
            let body = String::from_utf8(r.message.body().to_vec()).unwrap();
            r.targets.into_iter().map(move |t| {
                (
                    t.session.0,
                    t.subscription.to_string(),
                    r.id.0,
                    body.clone(),
                )
            })
        })
        .collect()
}

fn target(session: SessionId, sub: &str, ack_header: bool, settle_on_write: bool) -> Target {
    Target {
        session,
        subscription: Arc::from(sub),
        ack_header,
        settle_on_write,
    }
}

#[test]
fn topic_reaches_every_subscriber_in_subscription_order() {
    let mut b = SimpleBroker::new(BrokerConfig::default());
    b.subscribe(A, "sub-0", "/topic/news", AckMode::Auto, false)
        .unwrap();
    b.subscribe(B, "sub-0", "/topic/news", AckMode::Client, true)
        .unwrap();
    b.subscribe(C, "x", "/topic/other", AckMode::Auto, false)
        .unwrap();
    b.publish(send("/topic/news", "one")).unwrap();
    b.publish(send("/topic/news", "two")).unwrap();
    b.publish(send("/topic/nobody", "lost")).unwrap();
    let r = routes(&mut b);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].id, MessageId(1));
    assert_eq!(r[1].id, MessageId(2));
    assert_eq!(
        r[0].targets,
        [
            target(A, "sub-0", false, false),
            target(B, "sub-0", true, false)
        ]
    );
    assert_eq!(&r[1].message.body()[..], b"two");
    assert_eq!(b.subscription_count(), 3);
}

#[test]
fn targets_that_share_an_id_and_ack_header_get_identical_frames() {
    // What makes encode-once fan-out possible: the MESSAGE frame depends on the route's
    // message and id, the subscription id and the ack header only.
    let mut b = SimpleBroker::new(BrokerConfig::default());
    for s in 1..=3 {
        b.subscribe(SessionId(s), "sub-0", "/topic/t", AckMode::Auto, false)
            .unwrap();
    }
    b.publish(send("/topic/t", "x").with_header("content-type", "text/plain"))
        .unwrap();
    let r = routes(&mut b).remove(0);
    let frames: Vec<Vec<u8>> = r
        .targets
        .iter()
        .map(|t| {
            let f = message_frame(&r.message, &t.subscription, r.id, t.ack_header).unwrap();
            let mut out = Vec::new();
            f.encode(&mut out).unwrap();
            out
        })
        .collect();
    assert_eq!(
        frames[0],
        b"MESSAGE\ndestination:/topic/t\nmessage-id:1\nsubscription:sub-0\ncontent-type:text/plain\ncontent-length:1\n\nx\0"
    );
    assert!(frames.iter().all(|f| *f == frames[0]));
}

#[test]
fn queue_delivers_each_message_to_one_subscriber_round_robin() {
    let mut b = SimpleBroker::new(BrokerConfig::default());
    b.subscribe(A, "a", "/queue/work", AckMode::Auto, false)
        .unwrap();
    b.subscribe(B, "b", "/queue/work", AckMode::Auto, false)
        .unwrap();
    for body in ["1", "2", "3", "4", "5"] {
        b.publish(send("/queue/work", body)).unwrap();
    }
    let d = deliveries(&mut b);
    let who: Vec<(u64, &str)> = d
        .iter()
        .map(|(s, _, _, body)| (*s, body.as_str()))
        .collect();
    assert_eq!(who, [(1, "1"), (2, "2"), (1, "3"), (2, "4"), (1, "5")]);
    // auto subscriptions to a queue: settled once written.
    let r = {
        b.publish(send("/queue/work", "6")).unwrap();
        routes(&mut b).remove(0)
    };
    assert_eq!(r.targets, [target(B, "b", false, true)]);
}

#[test]
fn queue_holds_messages_until_someone_subscribes() {
    let mut b = SimpleBroker::new(BrokerConfig::default());
    b.publish(send("/queue/later", "first")).unwrap();
    b.publish(send("/queue/later", "second")).unwrap();
    assert!(outputs(&mut b).is_empty());
    assert_eq!(b.queued_messages(), 2);
    b.subscribe(A, "s", "/queue/later", AckMode::Auto, false)
        .unwrap();
    let d = deliveries(&mut b);
    assert_eq!(
        d,
        [
            (1, "s".into(), 1, "first".into()),
            (1, "s".into(), 2, "second".into())
        ]
    );
    assert_eq!(b.queued_messages(), 0);
}

#[test]
fn a_full_queue_refuses_instead_of_dropping() {
    let mut b = SimpleBroker::new(BrokerConfig::default().max_queued(2, 1 << 20));
    b.publish(send("/queue/q", "1")).unwrap();
    b.publish(send("/queue/q", "2")).unwrap();
    assert_eq!(
        b.publish(send("/queue/q", "3")),
        Err(BrokerError::QueueFull)
    );
    // About 46 bytes each, plus 256 of bookkeeping: one fits in 400, two do not.
    let mut b = SimpleBroker::new(BrokerConfig::default().max_queued(100, 400));
    b.publish(send("/queue/q", "a")).unwrap();
    assert_eq!(
        b.publish(send("/queue/q", "b")),
        Err(BrokerError::QueueFull)
    );
    assert_eq!(
        b.publish(send("/elsewhere", "x")),
        Err(BrokerError::NotBrokerDestination)
    );
    assert_eq!(
        b.subscribe(A, "s", "/app/x", AckMode::Auto, false),
        Err(BrokerError::NotBrokerDestination)
    );
}

#[test]
fn unacknowledged_queue_messages_are_redelivered_in_order_when_a_session_closes() {
    let mut b = SimpleBroker::new(BrokerConfig::default());
    b.subscribe(A, "a", "/queue/jobs", AckMode::ClientIndividual, true)
        .unwrap();
    for body in ["j1", "j2", "j3"] {
        b.publish(send("/queue/jobs", body)).unwrap();
    }
    assert_eq!(deliveries(&mut b).len(), 3);
    b.ack(A, "a", &[MessageId(2)]);
    assert!(outputs(&mut b).is_empty());
    b.subscribe(B, "b", "/queue/jobs", AckMode::Auto, false)
        .unwrap();
    b.remove_session(A);
    let r = routes(&mut b);
    let got: Vec<(&str, Option<&str>)> = r
        .iter()
        .map(|r| {
            (
                std::str::from_utf8(r.message.body()).unwrap(),
                r.message.header("redelivered"),
            )
        })
        .collect();
    assert_eq!(got, [("j1", Some("true")), ("j3", Some("true"))]);
    assert_eq!(r[0].id, MessageId(4), "a redelivery is a new delivery");
    assert_eq!(r[0].targets, [target(B, "b", false, true)]);
}

#[test]
fn nack_puts_a_queue_message_back_at_the_head() {
    let mut b = SimpleBroker::new(BrokerConfig::default().max_unacked(1));
    b.subscribe(A, "a", "/queue/q", AckMode::ClientIndividual, true)
        .unwrap();
    b.publish(send("/queue/q", "m1")).unwrap();
    b.publish(send("/queue/q", "m2")).unwrap();
    // max_unacked 1: m2 waits in the queue.
    assert_eq!(deliveries(&mut b), [(1, "a".into(), 1, "m1".into())]);
    b.nack(A, "a", &[MessageId(1)]);
    assert_eq!(deliveries(&mut b), [(1, "a".into(), 2, "m1".into())]);
    b.ack(A, "a", &[MessageId(2)]);
    assert_eq!(deliveries(&mut b), [(1, "a".into(), 3, "m2".into())]);
    // Acknowledging twice, or an id never sent, changes nothing.
    b.ack(A, "a", &[MessageId(2), MessageId(99)]);
    assert!(outputs(&mut b).is_empty());
}

#[test]
fn unsubscribe_returns_in_flight_messages_to_the_queue() {
    let mut b = SimpleBroker::new(BrokerConfig::default());
    b.subscribe(A, "a", "/queue/q", AckMode::Client, true)
        .unwrap();
    b.publish(send("/queue/q", "x")).unwrap();
    assert_eq!(deliveries(&mut b).len(), 1);
    b.unsubscribe(A, "a");
    assert!(outputs(&mut b).is_empty());
    assert_eq!(b.queued_messages(), 1);
    b.subscribe(A, "again", "/queue/q", AckMode::Auto, false)
        .unwrap();
    assert_eq!(deliveries(&mut b), [(1, "again".into(), 2, "x".into())]);
    // An auto delivery stays in flight until written.
    b.remove_session(A);
    assert_eq!(b.queued_messages(), 1);
    b.subscribe(B, "b", "/queue/q", AckMode::Auto, false)
        .unwrap();
    let r = routes(&mut b).remove(0);
    b.settle_written(B, "b", r.id);
    b.remove_session(B);
    assert_eq!(b.queued_messages(), 0);
}

#[test]
fn a_topic_subscriber_that_never_acknowledges_is_a_slow_consumer() {
    let mut b = SimpleBroker::new(BrokerConfig::default().max_unacked(2));
    b.subscribe(A, "a", "/topic/t", AckMode::Client, true)
        .unwrap();
    b.subscribe(B, "b", "/topic/t", AckMode::Auto, false)
        .unwrap();
    b.subscribe(A, "q", "/queue/q", AckMode::ClientIndividual, true)
        .unwrap();
    b.publish(send("/queue/q", "held by A")).unwrap();
    b.publish(send("/topic/t", "1")).unwrap();
    b.publish(send("/topic/t", "2")).unwrap();
    assert_eq!(deliveries(&mut b).len(), 5);
    b.ack(A, "a", &[MessageId(2)]);
    b.publish(send("/topic/t", "3")).unwrap();
    b.publish(send("/topic/t", "4")).unwrap();
    let out = outputs(&mut b);
    // 3 reaches both; at 4, A has 2 unacknowledged: B gets it, A is reported.
    assert_eq!(out.len(), 3);
    let Output::Route(r) = &out[1] else { panic!() };
    assert_eq!(r.targets, [target(B, "b", false, false)]);
    assert_eq!(out[2], Output::SlowConsumer(A));
    assert_eq!(b.subscriptions(A).count(), 0);
    // A's queue message went back to the queue.
    assert_eq!(b.queued_messages(), 1);
}

#[test]
fn reply_goes_to_the_senders_own_subscriptions_only() {
    let mut b = SimpleBroker::new(BrokerConfig::default());
    b.subscribe(A, "s1", "/topic/r", AckMode::Auto, false)
        .unwrap();
    b.subscribe(A, "s2", "/topic/r", AckMode::Auto, false)
        .unwrap();
    b.subscribe(B, "s1", "/topic/r", AckMode::Auto, false)
        .unwrap();
    b.reply(A, send("/topic/r", "for A"));
    b.reply(C, send("/topic/r", "C has no subscription"));
    let d = deliveries(&mut b);
    assert_eq!(
        d,
        [
            (1, "s1".into(), 1, "for A".into()),
            (1, "s2".into(), 1, "for A".into())
        ]
    );
}

#[test]
fn ids_increase_along_every_session_whatever_the_destination() {
    let mut b = SimpleBroker::new(BrokerConfig::default());
    b.subscribe(A, "t", "/topic/t", AckMode::Auto, false)
        .unwrap();
    b.subscribe(A, "q", "/queue/q", AckMode::ClientIndividual, true)
        .unwrap();
    b.subscribe(B, "q", "/queue/q", AckMode::ClientIndividual, true)
        .unwrap();
    for i in 0..20 {
        let d = if i % 3 == 0 { "/topic/t" } else { "/queue/q" };
        b.publish(send(d, "m")).unwrap();
        if i % 5 == 4 {
            b.nack(B, "q", &[MessageId(i)]);
        }
    }
    let mut last = std::collections::HashMap::new();
    for (s, _, id, _) in deliveries(&mut b) {
        let prev = last.insert(s, id).unwrap_or(0);
        assert!(id > prev, "session {s}: {id} after {prev}");
    }
}

mod conservation {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Subscribe(u64, u8, AckMode),
        Unsubscribe(u64, u8),
        Publish(bool),
        Ack(u64, u8, usize),
        Nack(u64, u8, usize),
        Written(u64, u8, usize),
        Remove(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let session = 1..4u64;
        let sub = 0..2u8;
        let mode = prop_oneof![
            Just(AckMode::Auto),
            Just(AckMode::Client),
            Just(AckMode::ClientIndividual)
        ];
        prop_oneof![
            1 => (session.clone(), sub.clone(), mode).prop_map(|(s, i, m)| Op::Subscribe(s, i, m)),
            1 => (session.clone(), sub.clone()).prop_map(|(s, i)| Op::Unsubscribe(s, i)),
            3 => any::<bool>().prop_map(Op::Publish),
            2 => (session.clone(), sub.clone(), 0..8usize).prop_map(|(s, i, k)| Op::Ack(s, i, k)),
            1 => (session.clone(), sub.clone(), 0..8usize).prop_map(|(s, i, k)| Op::Nack(s, i, k)),
            2 => (session.clone(), sub.clone(), 0..8usize).prop_map(|(s, i, k)| Op::Written(s, i, k)),
            1 => session.prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// Whatever subscribers do, every accepted queue message is in exactly one place —
        /// held in the queue, or in flight at one subscription — until it is acknowledged;
        /// ids increase along every session; limits hold.
        #[test]
        fn queue_messages_are_never_lost_nor_doubled(ops in proptest::collection::vec(op(), 1..120)) {
            let config = BrokerConfig::default().max_unacked(3).max_queued(5, 1 << 20);
            let mut b = SimpleBroker::new(config);
            // Queue messages by body: delivered and not settled, per (session, sub).
            let mut in_flight: BTreeMap<(u64, String), Vec<(MessageId, String)>> = BTreeMap::new();
            let mut modes: BTreeMap<(u64, String), AckMode> = BTreeMap::new();
            let mut accepted = 0usize;
            let mut done = 0usize;
            let mut last_id: BTreeMap<u64, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Subscribe(s, i, m) => {
                        let id = format!("s{i}");
                        if modes.contains_key(&(s, id.clone())) { continue; }
                        let dest = if i == 0 { "/queue/q" } else { "/topic/t" };
                        b.subscribe(SessionId(s), &id, dest, m, m != AckMode::Auto).unwrap();
                        modes.insert((s, id), m);
                    }
                    Op::Unsubscribe(s, i) => {
                        let id = format!("s{i}");
                        b.unsubscribe(SessionId(s), &id);
                        modes.remove(&(s, id.clone()));
                        in_flight.remove(&(s, id));
                    }
                    Op::Publish(queue) => {
                        let dest = if queue { "/queue/q" } else { "/topic/t" };
                        let body = format!("m{accepted}");
                        let r = b.publish(message(dest, &[], Bytes::from(body)));
                        if queue && r.is_ok() { accepted += 1; }
                        if queue && r.is_err() { prop_assert!(b.queued_messages() >= 5); }
                    }
                    Op::Ack(s, i, k) | Op::Nack(s, i, k) | Op::Written(s, i, k) => {
                        let id = format!("s{i}");
                        let key = (s, id.clone());
                        let Some(list) = in_flight.get_mut(&key) else { continue };
                        if k >= list.len() { continue; }
                        let mode = modes[&key];
                        let (mid, body) = list.remove(k);
                        match (&op, mode) {
                            (Op::Ack(..), AckMode::Client | AckMode::ClientIndividual) => {
                                b.ack(SessionId(s), &id, &[mid]);
                                done += 1;
                            }
                            (Op::Nack(..), AckMode::Client | AckMode::ClientIndividual) => {
                                b.nack(SessionId(s), &id, &[mid]);
                            }
                            (Op::Written(..), AckMode::Auto) => {
                                b.settle_written(SessionId(s), &id, mid);
                                done += 1;
                            }
                            _ => list.insert(k, (mid, body)),
                        }
                    }
                    Op::Remove(s) => {
                        b.remove_session(SessionId(s));
                        modes.retain(|(x, _), _| *x != s);
                        in_flight.retain(|(x, _), _| *x != s);
                    }
                }
                for out in std::iter::from_fn(|| b.poll_output()) {
                    let r = match out {
                        Output::Route(r) => r,
                        Output::SlowConsumer(s) => {
                            // Its queue messages went back to the queue (and maybe out again).
                            modes.retain(|(x, _), _| *x != s.0);
                            in_flight.retain(|(x, _), _| *x != s.0);
                            continue;
                        }
                        other => panic!("{other:?}"),
                    };
                    for t in &r.targets {
                        let prev = last_id.insert(t.session.0, r.id.0).unwrap_or(0);
                        prop_assert!(r.id.0 > prev || (r.id.0 == prev && r.targets.len() > 1));
                        if r.message.header("destination") == Some("/queue/q") {
                            prop_assert_eq!(r.targets.len(), 1);
                            let list = in_flight.entry((t.session.0, t.subscription.to_string())).or_default();
                            list.push((r.id, String::from_utf8(r.message.body().to_vec()).unwrap()));
                            prop_assert!(list.len() <= 3, "max_unacked");
                        }
                    }
                }
                let flying: usize = in_flight.values().map(Vec::len).sum();
                prop_assert_eq!(accepted, done + flying + b.queued_messages(),
                    "accepted = settled + in flight + queued");
                let mut bodies: Vec<&String> = in_flight.values().flatten().map(|(_, b)| b).collect();
                let n = bodies.len();
                bodies.sort();
                bodies.dedup();
                prop_assert_eq!(bodies.len(), n, "a message in flight twice");
            }
        }
    }
}
