//! Block sync over request-response: the node answers through the oneshot it is given.
use crate::common::*;
use cairn_network::NetworkEvent;
use cairn_proto::pb;

fn block(height: u64) -> pb::CertifiedBlock {
    pb::CertifiedBlock {
        block: Some(pb::Block {
            header: Some(pb::Header { height, ..Default::default() }),
            txs: vec![vec![height as u8; 100].into(); 10],
        }),
        certificate: Some(pb::Certificate { height, ..Default::default() }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_are_served_and_requests_clamped() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    let server = peer(&nodes[1]);
    let client = nodes[0].handle.clone();

    // Ask for far more than sync_max_blocks (64 by default): the server sees the clamped ask.
    let ask = tokio::spawn(async move {
        client.request_blocks(server, pb::SyncRequest { from_height: 5, max_blocks: 10_000, snapshot: None }).await
    });
    let (req, reply) = nodes[1]
        .expect(10, |e| match e {
            NetworkEvent::SyncRequest { req, reply, .. } => Some((req, reply)),
            _ => None,
        })
        .await;
    assert_eq!(req.from_height, 5);
    assert_eq!(req.max_blocks, 64);
    let blocks: Vec<_> = (5..5 + u64::from(req.max_blocks)).map(block).collect();
    reply.send(pb::SyncResponse { blocks: blocks.clone(), latest_height: 100, ..Default::default() }).unwrap();
    let res = ask.await.unwrap().unwrap();
    assert_eq!(res.latest_height, 100);
    assert_eq!(res.blocks, blocks);

    // A node that drops the reply sender refuses the request: the requester gets an error.
    let client = nodes[0].handle.clone();
    let ask = tokio::spawn(async move {
        client.request_blocks(server, pb::SyncRequest { from_height: 1, max_blocks: 1, snapshot: None }).await
    });
    let reply = nodes[1]
        .expect(10, |e| match e {
            NetworkEvent::SyncRequest { reply, .. } => Some(reply),
            _ => None,
        })
        .await;
    drop(reply);
    assert!(ask.await.unwrap().is_err());
    assert!(nodes[1].metric("cairn_p2p_received_messages_total", Some(("topic", "sync"))) >= 2.0);
}
