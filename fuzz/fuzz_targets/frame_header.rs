//! Frame header decoding: a decoded header re-encodes to exactly the same bytes, every
//! strict prefix of a header is `Partial`, and a rejected header is rejected (or still
//! `Partial`) at every prefix, with close code 1002.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{FrameHeader, MAX_HEADER_LEN, Status};

fuzz_target!(|data: &[u8]| {
    match FrameHeader::decode(data) {
        Ok(Status::Complete((header, len))) => {
            assert!((2..=MAX_HEADER_LEN).contains(&len) && len <= data.len());
            assert_eq!(header.encoded_len(), len);
            assert!(header.payload_len >> 63 == 0);
            let mut buf = [0; MAX_HEADER_LEN];
            assert_eq!(header.encode(&mut buf), len);
            assert_eq!(&buf[..len], &data[..len], "re-encoding differs");
            let mut v = Vec::new();
            header.encode_to_vec(&mut v);
            assert_eq!(&v[..], &data[..len]);
            if header.opcode.is_control() {
                assert!(header.fin && header.payload_len <= 125);
            }
            for end in 0..len {
                assert_eq!(FrameHeader::decode(&data[..end]), Ok(Status::Partial));
            }
        }
        Ok(Status::Partial) => assert!(data.len() < MAX_HEADER_LEN),
        Err(e) => {
            assert_eq!(e.close_code().as_u16(), 1002);
            for end in 0..data.len().min(MAX_HEADER_LEN) {
                let r = FrameHeader::decode(&data[..end]);
                assert!(
                    r == Ok(Status::Partial) || r == Err(e.clone()),
                    "{r:?} vs {e:?}"
                );
            }
        }
    }
});
