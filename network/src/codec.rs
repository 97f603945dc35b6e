//! The block-sync wire codec: one protobuf message per stream, prefixed by its length as a
//! 4-byte big-endian integer and refused before allocation when longer than the limit.
use async_trait::async_trait;
use cairn_proto::pb;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use prost::Message;
use std::io;

/// The block-sync protocol name.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/cairn/sync/1");

/// A request is two integers; anything longer is not one.
const MAX_REQUEST_BYTES: usize = 64;

/// Length-prefixed protobuf for `pb::SyncRequest` / `pb::SyncResponse`.
#[derive(Clone, Debug)]
pub struct SyncCodec {
    max_response_bytes: usize,
}

impl SyncCodec {
    pub fn new(max_response_bytes: usize) -> Self {
        SyncCodec { max_response_bytes }
    }
}

async fn read_message<M: Message + Default, T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<M> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("message of {len} bytes exceeds {max}")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    M::decode(buf.as_slice()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

async fn write_message<M: Message, T: AsyncWrite + Unpin + Send>(io: &mut T, msg: &M, max: usize) -> io::Result<()> {
    let len = msg.encoded_len();
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("message of {len} bytes exceeds {max}")));
    }
    let mut buf = Vec::with_capacity(4 + len);
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    msg.encode(&mut buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    io.write_all(&buf).await
}

#[async_trait]
impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = pb::SyncRequest;
    type Response = pb::SyncResponse;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Self::Request> {
        read_message(io, MAX_REQUEST_BYTES).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Self::Response> {
        read_message(io, self.max_response_bytes).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Self::Request,
    ) -> io::Result<()> {
        write_message(io, &req, MAX_REQUEST_BYTES).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Self::Response,
    ) -> io::Result<()> {
        write_message(io, &res, self.max_response_bytes).await
    }
}

/// Drops trailing blocks until the response fits in `max` bytes, so a responder never sends
/// what the requester would refuse; the requester asks again from the next height.
pub(crate) fn fit_response(mut res: pb::SyncResponse, max: usize) -> pb::SyncResponse {
    let mut len = res.encoded_len();
    while len > max {
        let Some(block) = res.blocks.pop() else { break };
        // Each block is one length-delimited field: tag byte, length varint, body.
        let body = block.encoded_len();
        len -= 1 + prost::length_delimiter_len(body) + body;
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;
    use libp2p::request_response::Codec;

    fn block(txs: usize, tx_len: usize) -> pb::CertifiedBlock {
        pb::CertifiedBlock {
            block: Some(pb::Block { header: None, txs: vec![vec![7u8; tx_len].into(); txs] }),
            certificate: None,
        }
    }

    #[tokio::test]
    async fn roundtrip_and_limits() {
        let mut codec = SyncCodec::new(10_000);
        let res = pb::SyncResponse { blocks: vec![block(3, 100)], latest_height: 9, ..Default::default() };
        let mut buf = Cursor::new(Vec::new());
        codec.write_response(&SYNC_PROTOCOL, &mut buf, res.clone()).await.unwrap();
        buf.set_position(0);
        assert_eq!(codec.read_response(&SYNC_PROTOCOL, &mut buf).await.unwrap(), res);

        // A declared length over the limit is refused before reading (or allocating) the body.
        let mut huge = Cursor::new(u32::MAX.to_be_bytes().to_vec());
        let err = codec.read_response(&SYNC_PROTOCOL, &mut huge).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        // Garbage of an allowed length does not decode.
        let mut junk = vec![0, 0, 0, 8];
        junk.extend_from_slice(&[0xff; 8]);
        assert!(codec.read_request(&SYNC_PROTOCOL, &mut Cursor::new(junk)).await.is_err());

        // Writing more than the limit is refused too.
        let big = pb::SyncResponse { blocks: vec![block(200, 100)], latest_height: 1, ..Default::default() };
        assert!(codec.write_response(&SYNC_PROTOCOL, &mut Cursor::new(Vec::new()), big).await.is_err());
    }

    #[test]
    fn fit_response_drops_trailing_blocks() {
        let res = pb::SyncResponse {
            blocks: (0..10).map(|_| block(10, 100)).collect(),
            latest_height: 10,
            ..Default::default()
        };
        let one =
            pb::SyncResponse { blocks: vec![block(10, 100)], latest_height: 10, ..Default::default() }.encoded_len();
        let fitted = fit_response(res, one * 3 + 10);
        assert!(fitted.encoded_len() <= one * 3 + 10);
        assert_eq!(fitted.blocks.len(), 3);
    }
}
