//! Records as containers-storage writes them (copied from a real layer's
//! tar-split.gz made by podman 4.3), then every way a damaged or hostile
//! file must fail.

use super::*;

/// A real layer's first records: a directory, then a 2-byte file "x\n".
const REAL: &str = concat!(
    r#"{"type":2,"payload":"Li8AAA==","position":0}"#,
    "\n",
    r#"{"type":1,"name":"./","payload":null,"position":1}"#,
    "\n",
    r#"{"type":2,"payload":"","position":2}"#,
    "\n",
    r#"{"type":1,"name":"./gone","size":2,"payload":"YVMQAAAAAAA=","position":3}"#,
    "\n",
    r#"{"type":1,"name_raw":"Li9sYXRpbi3p","size":3,"payload":"AAAAAAAAAAA=","position":4}"#,
    "\n",
);

fn read_all(input: &[u8], chunk: usize) -> Result<Vec<Record>, TarSplitError> {
    let mut reader = RecordReader::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        out.extend(reader.push(piece)?);
    }
    out.extend(reader.finish()?);
    Ok(out)
}

fn error_of(input: &str) -> String {
    read_all(input.as_bytes(), 1 << 20).expect_err(input).to_string()
}

#[test]
fn crc64_is_go_iso() {
    // The catalogue's check value for "123456789".
    assert_eq!(Crc64::checksum(b"123456789"), 0xb909_56c7_75a4_1001);
    // What tar-split stored for "x\n" (base64 YVMQAAAAAAA=).
    assert_eq!(Crc64::checksum(b"x\n"), 0x6153_1000_0000_0000);
    assert_eq!(Crc64::checksum(b""), 0);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let mut crc = Crc64::new();
    for piece in data.chunks(977) {
        crc.update(piece);
    }
    assert_eq!(crc.value(), Crc64::checksum(&data));
    // value() does not end the hasher.
    crc.update(b"more");
    let mut whole = data.clone();
    whole.extend_from_slice(b"more");
    assert_eq!(crc.value(), Crc64::checksum(&whole));
}

#[test]
fn reads_real_records_in_any_chunking() {
    let want = read_all(REAL.as_bytes(), 1 << 20).unwrap();
    assert_eq!(want.len(), 5);
    assert_eq!(want[0], Record::Segment { position: 0, payload: b"./\0\0".to_vec() });
    assert_eq!(
        want[1],
        Record::File { position: 1, name: b"./".to_vec(), path: b".".to_vec(), size: 0, crc64: None }
    );
    assert_eq!(want[2], Record::Segment { position: 2, payload: Vec::new() });
    assert_eq!(
        want[3],
        Record::File {
            position: 3,
            name: b"./gone".to_vec(),
            path: b"gone".to_vec(),
            size: 2,
            crc64: Some(0x6153_1000_0000_0000)
        }
    );
    // name_raw: "./latin-\xe9", not UTF-8.
    assert_eq!(
        want[4],
        Record::File {
            position: 4,
            name: b"./latin-\xe9".to_vec(),
            path: b"latin-\xe9".to_vec(),
            size: 3,
            crc64: Some(0)
        }
    );
    for chunk in 1..40 {
        assert_eq!(read_all(REAL.as_bytes(), chunk).unwrap(), want, "chunk {chunk}");
    }
    // The last line may lack its newline; blank lines are skipped.
    let trimmed = format!("\n{}\n\n", REAL.trim_end());
    assert_eq!(read_all(trimmed.as_bytes(), 3).unwrap(), want);
    let no_newline = REAL.trim_end();
    assert_eq!(read_all(no_newline.as_bytes(), 7).unwrap(), want);
}

#[test]
fn cleans_names_like_go() {
    let ok: &[(&[u8], &[u8])] = &[
        (b"./usr/bin/ls", b"usr/bin/ls"),
        (b"usr//bin/./ls/", b"usr/bin/ls"),
        (b"./", b"."),
        (b"", b"."),
        (b"a/b/../c", b"a/c"),
        (b"a/..", b"."),
        (b"./\xff\xfe/x", b"\xff\xfe/x"),
    ];
    for (name, want) in ok {
        assert_eq!(clean_name(name).as_deref(), Ok(*want), "{name:?}");
    }
    let bad: &[(&[u8], NameError)] = &[
        (b"..", NameError::Escapes),
        (b"../etc/passwd", NameError::Escapes),
        (b"a/../../b", NameError::Escapes),
        (b"./a/../..", NameError::Escapes),
        (b"/etc/passwd", NameError::Absolute),
        (b"//x", NameError::Absolute),
        (b"/../x", NameError::Absolute),
        (b"a\0b", NameError::Nul),
    ];
    for (name, want) in bad {
        assert_eq!(clean_name(name).as_ref(), Err(want), "{name:?}");
    }
}

#[test]
fn damaged_records_name_their_entry() {
    let seg0 = r#"{"type":2,"payload":"","position":0}"#;
    let cases: &[(String, &str)] = &[
        (r#"{"type":3,"position":0}"#.into(), "tar-split entry 0: unknown record type 3"),
        (r#"{"payload":"","position":0}"#.into(), "tar-split entry 0: no record type"),
        (r#"{"type":2,"payload":"not base64!","position":0}"#.into(), "tar-split entry 0: payload is not valid base64"),
        (format!("{seg0}\n{}", r#"{"type":1,"name":"./a","size":-5,"position":1}"#), "tar-split entry 1: negative size -5 for ./a"),
        (r#"{"type":1,"name":"./a","size":9007199254740992,"payload":"AAAAAAAAAAA=","position":0}"#.into(), "exceeds 9007199254740991 bytes"),
        (r#"{"type":1,"name":"./a","size":99999999999999999999,"position":0}"#.into(), "tar-split entry 0: not a tar-split record"),
        (r#"{"type":1,"name":"./a","size":1.5,"position":0}"#.into(), "tar-split entry 0: not a tar-split record"),
        (format!("{seg0}\n{seg0}"), "tar-split entry 1: position 0 out of sequence (expected 1)"),
        (r#"{"type":2,"payload":""}"#.into(), "tar-split entry 0: no position"),
        (r#"{"type":1,"name":"../../etc/shadow","size":1,"payload":"AAAAAAAAAAA=","position":0}"#.into(), "escapes the layer"),
        (r#"{"type":1,"name":"./a/../../x","position":0}"#.into(), "tar-split entry 0: name \"./a/../../x\" escapes the layer"),
        (r#"{"type":1,"name":"/etc/shadow","position":0}"#.into(), "tar-split entry 0: name \"/etc/shadow\" is absolute"),
        (r#"{"type":1,"name_raw":"Li4vZXRj","position":0}"#.into(), "name \"../etc\" escapes the layer"),
        (r#"{"type":1,"name_raw":"%%%","position":0}"#.into(), "tar-split entry 0: name_raw is not valid base64"),
        (r#"{"type":1,"name":"./a","size":4,"position":0}"#.into(), "tar-split entry 0: no CRC64 for ./a"),
        (r#"{"type":1,"name":"./a","size":4,"payload":"AAAA","position":0}"#.into(), "CRC64 of 3 bytes for ./a (expected 8)"),
        (
            format!("{}\n{}", r#"{"type":1,"name":"./a/","position":0}"#, r#"{"type":1,"name":"a","position":1}"#),
            "tar-split entry 1: name \"a\" appears twice",
        ),
        ("{\"type\":2,\"payload\":\"\",\"position\":0".into(), "tar-split entry 0: not a tar-split record"),
        ("[1,2,3]".into(), "tar-split entry 0: not a tar-split record"),
        ("\u{1f}\u{8b}\u{8}\0garbage".into(), "tar-split entry 0: not a tar-split record"),
    ];
    for (input, want) in cases {
        let got = error_of(input);
        assert!(got.contains(want), "{input}\n  got:  {got}\n  want: {want}");
    }
}

#[test]
fn overlong_lines_fail_before_growing() {
    let mut reader = RecordReader::new();
    let piece = vec![b'a'; 1 << 20];
    let mut failed = None;
    for i in 0..20 {
        if let Err(e) = reader.push(&piece) {
            failed = Some((i, e));
            break;
        }
    }
    let (i, e) = failed.expect("an endless line must fail");
    assert_eq!(i, MAX_LINE >> 20, "fails at the cap, not later");
    assert_eq!(e.to_string(), "tar-split entry 0: record longer than 8 MiB");
    // A long but legal line (a 1 MiB padding record) passes.
    let big = format!(r#"{{"type":2,"payload":"{}","position":0}}"#, "A".repeat(1 << 21));
    let records = read_all(big.as_bytes(), 65536).unwrap();
    assert!(matches!(&records[0], Record::Segment { payload, .. } if payload.len() == 3 << 19));
}

#[test]
fn nothing_after_finish() {
    let mut reader = RecordReader::new();
    reader.push(REAL.as_bytes()).unwrap();
    reader.finish().unwrap();
    assert_eq!(reader.count(), 5);
    assert!(reader.push(b"{}").is_err());
}
