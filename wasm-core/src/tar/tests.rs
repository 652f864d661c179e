//! Archives built here field by field (ustar, PAX, GNU, base-256), split in
//! every chunking and joined back; then every malformed or hostile header
//! the splitter must refuse without panicking or allocating much. The
//! TypeScript unit tests run the same checks on tars from tar-stream and
//! GNU tar.

use super::*;

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{value:0width$o}", width = field.len() - 1);
    assert!(s.len() < field.len(), "{value} does not fit in octal");
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()] = 0;
}

fn base256(field: &mut [u8], value: u64) {
    field.fill(0);
    let n = field.len();
    field[n - 8..].copy_from_slice(&value.to_be_bytes());
    field[0] |= 0x80;
}

fn checksum(block: &mut [u8; 512]) {
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(s.as_bytes());
}

fn header(name: &[u8], typeflag: u8, size: u64, link: &[u8]) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[..name.len()].copy_from_slice(name);
    octal(&mut b[100..108], 0o644);
    octal(&mut b[108..116], 1000);
    octal(&mut b[116..124], 1001);
    if size < 1 << 33 {
        octal(&mut b[124..136], size);
    } else {
        base256(&mut b[124..136], size);
    }
    octal(&mut b[136..148], 1_700_000_000);
    b[156] = typeflag;
    b[157..157 + link.len()].copy_from_slice(link);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[265..269].copy_from_slice(b"user");
    b[297..302].copy_from_slice(b"group");
    octal(&mut b[329..337], 0);
    octal(&mut b[337..345], 0);
    checksum(&mut b);
    b
}

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(512) {
        out.push(0);
    }
}

fn member(out: &mut Vec<u8>, name: &[u8], typeflag: u8, data: &[u8]) {
    out.extend_from_slice(&header(name, typeflag, data.len() as u64, b""));
    out.extend_from_slice(data);
    pad(out);
}

/// PAX extended header records (`LEN KEY=VALUE\n`, LEN counting itself),
/// for the tests of every module that builds tars.
pub(crate) fn pax_data<K: AsRef<[u8]>>(records: &[(K, &[u8])]) -> Vec<u8> {
    let mut data = Vec::new();
    for (k, v) in records {
        let k = k.as_ref();
        let body = k.len() + v.len() + 3;
        let mut len = body + body.to_string().len();
        if len.to_string().len() != body.to_string().len() {
            len += 1;
        }
        data.extend_from_slice(format!("{len} ").as_bytes());
        data.extend_from_slice(k);
        data.push(b'=');
        data.extend_from_slice(v);
        data.push(b'\n');
    }
    data
}

fn pax(out: &mut Vec<u8>, kind: u8, records: &[(&[u8], &[u8])]) {
    let data = pax_data(records);
    member(out, b"PaxHeader", kind, &data);
}

fn gnu_long(out: &mut Vec<u8>, kind: u8, name: &[u8]) {
    let mut data = name.to_vec();
    data.push(0);
    let mut b = header(b"././@LongLink", kind, data.len() as u64, b"");
    b[257..265].copy_from_slice(b"ustar  \0");
    checksum(&mut b);
    out.extend_from_slice(&b);
    out.extend_from_slice(&data);
    pad(out);
}

fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0; 1024]);
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

struct Split {
    entries: Vec<Entry>,
    contents: Vec<Vec<u8>>,
    rebuilt: Vec<u8>,
    ended: bool,
}

fn split(archive: &[u8], chunk: usize) -> Result<Split, TarError> {
    let mut splitter = Splitter::new();
    let mut out = Split { entries: Vec::new(), contents: Vec::new(), rebuilt: Vec::new(), ended: false };
    for piece in archive.chunks(chunk.max(1)) {
        for event in splitter.push(piece)? {
            match event {
                Event::Inline(bytes) => out.rebuilt.extend_from_slice(&bytes),
                Event::Entry(entry) => {
                    out.entries.push(*entry);
                    out.contents.push(Vec::new());
                }
                Event::Content { start, len } => {
                    let bytes = &piece[start..start + len];
                    out.rebuilt.extend_from_slice(bytes);
                    out.contents.last_mut().expect("content after an entry").extend_from_slice(bytes);
                }
                Event::End => out.ended = true,
            }
        }
    }
    splitter.finish()?;
    assert_eq!(out.ended, splitter.ended());
    Ok(out)
}

/// (path, typeflag, content) of each member.
type Members = Vec<(Vec<u8>, u8, Vec<u8>)>;

fn sample() -> (Vec<u8>, Members) {
    let mut tar = Vec::new();
    let mut want = Vec::new();
    let add = |tar: &mut Vec<u8>, want: &mut Vec<_>, name: &[u8], typeflag: u8, data: Vec<u8>| {
        member(tar, name, typeflag, &data);
        want.push((name.to_vec(), typeflag, data));
    };
    add(&mut tar, &mut want, b"./", b'5', Vec::new());
    for size in [0usize, 1, 64, 65, 511, 512, 513, 4096, 100_003] {
        add(&mut tar, &mut want, format!("./file-{size}").as_bytes(), b'0', pattern(size));
    }
    add(&mut tar, &mut want, b"./empty-old-style", 0, Vec::new());
    let mut symlink = header(b"./link", b'2', 0, b"file-64");
    checksum(&mut symlink);
    tar.extend_from_slice(&symlink);
    want.push((b"./link".to_vec(), b'2', Vec::new()));
    // A hard link whose size field claims data it does not have (Go reads none).
    tar.extend_from_slice(&header(b"./hard", b'1', 77, b"./file-65"));
    want.push((b"./hard".to_vec(), b'1', Vec::new()));
    add(&mut tar, &mut want, b"./fifo", b'6', Vec::new());
    end(&mut tar);
    (tar, want)
}

#[test]
fn splits_and_rejoins_in_any_chunking() {
    let (tar, want) = sample();
    for chunk in [1, 7, 511, 512, 513, 4096, 65536, tar.len()] {
        let got = split(&tar, chunk).unwrap();
        assert_eq!(got.rebuilt, tar, "chunk {chunk}");
        assert!(got.ended);
        let summary: Vec<_> = got.entries.iter().zip(&got.contents).map(|(e, c)| (e.path.clone(), e.typeflag, c.clone())).collect();
        let mut expected = want.clone();
        expected[10].1 = b'0'; // "\0" became '0'
        assert_eq!(summary, expected, "chunk {chunk}");
        for (i, e) in got.entries.iter().enumerate() {
            assert_eq!(e.index, i as u64);
            assert_eq!((e.uid, e.gid, e.mode, e.mtime), (1000, 1001, 0o644, 1_700_000_000));
            assert_eq!((&e.uname[..], &e.gname[..]), (&b"user"[..], &b"group"[..]));
            assert_eq!(e.size as usize, got.contents[i].len());
        }
        let hard = &got.entries[12];
        assert_eq!((hard.size, &hard.link_path[..]), (0, &b"./file-65"[..]));
    }
}

#[test]
fn content_is_never_copied_into_inline_bytes() {
    let (tar, _) = sample();
    let mut splitter = Splitter::new();
    let events = splitter.push(&tar).unwrap();
    let inline: usize = events.iter().map(|e| if let Event::Inline(b) = e { b.len() } else { 0 }).sum();
    let content: usize = events.iter().map(|e| if let Event::Content { len, .. } = e { *len } else { 0 }).sum();
    assert_eq!(content, [1usize, 64, 65, 511, 512, 513, 4096, 100_003].iter().sum::<usize>());
    assert_eq!(inline + content, tar.len());
}

#[test]
fn long_names_pax_and_gnu() {
    let long = |n: usize, tail: &str| format!("./{}/{tail}", "d".repeat(n)).into_bytes();
    let name_200 = long(200, "pax-file");
    let name_300 = long(300, "gnu-file");
    let link_300 = long(290, "gnu-target");
    let mut tar = Vec::new();
    // ustar prefix + name (a 150-byte path split at a slash).
    let mut prefixed = header(b"leaf", b'0', 3, b"");
    let prefix = "p".repeat(145);
    prefixed[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    checksum(&mut prefixed);
    tar.extend_from_slice(&prefixed);
    tar.extend_from_slice(b"abc");
    pad(&mut tar);
    pax(&mut tar, b'g', &[(b"comment", b"global, not applied")]);
    pax(
        &mut tar,
        b'x',
        &[
            (b"path", &name_200),
            (b"mtime", b"1700000000.123456789123"),
            (b"uid", b"4000000000"),
            (b"SCHILY.xattr.security.capability", b"\x01\x00\x00\x02\x00\x04\x00\x00\xff\0"),
            (b"SCHILY.xattr.user.empty", b""),
            (b"uname", b""),
        ],
    );
    member(&mut tar, b"truncated-in-ustar", b'0', &pattern(70));
    gnu_long(&mut tar, b'L', &name_300);
    gnu_long(&mut tar, b'K', &link_300);
    tar.extend_from_slice(&header(b"short", b'2', 0, b"short-target"));
    // PAX size overrides the header's.
    pax(&mut tar, b'x', &[(b"size", b"5")]);
    tar.extend_from_slice(&header(b"./sized-by-pax", b'0', 0, b""));
    tar.extend_from_slice(b"12345");
    pad(&mut tar);
    end(&mut tar);
    tar.extend_from_slice(b"trailing garbage is kept");
    for chunk in [1, 100, 512, 1000, tar.len()] {
        let got = split(&tar, chunk).unwrap();
        assert_eq!(got.rebuilt, tar);
        let e = &got.entries;
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].path, format!("{prefix}/leaf").into_bytes());
        assert_eq!(e[1].path, name_200);
        assert_eq!((e[1].mtime, e[1].mtime_nsec, e[1].uid), (1_700_000_000, 123_456_789, 4_000_000_000));
        assert_eq!(&e[1].uname[..], b"user", "an empty PAX value keeps the header's");
        assert_eq!(
            e[1].xattrs,
            vec![
                (b"security.capability".to_vec(), b"\x01\x00\x00\x02\x00\x04\x00\x00\xff\0".to_vec()),
                (b"user.empty".to_vec(), Vec::new())
            ]
        );
        assert_eq!(got.contents[1], pattern(70));
        assert_eq!((e[2].path.clone(), e[2].link_path.clone(), e[2].typeflag), (name_300.clone(), link_300.clone(), b'2'));
        assert_eq!((e[3].size, &got.contents[3][..]), (5, &b"12345"[..]));
        assert!(e[1].header_offset < e[1].content_offset);
    }
}

#[test]
fn base256_sizes_beyond_8_gib() {
    let size = 9u64 << 30;
    let mut tar = header(b"./huge", b'0', size, b"").to_vec();
    assert_eq!(tar[124], 0x80, "size stored in base-256");
    tar.extend_from_slice(&pattern(1000));
    let mut splitter = Splitter::new();
    let events = splitter.push(&tar).unwrap();
    let Event::Entry(entry) = &events[1] else { panic!("{events:?}") };
    assert_eq!(entry.size, size);
    assert_eq!(events[2], Event::Content { start: 512, len: 1000 });
    // 1 MiB more content, then the archive is cut: a clear error, no panic.
    splitter.push(&vec![0u8; 1 << 20]).unwrap();
    let err = splitter.finish().unwrap_err();
    assert_eq!(err.entry, Some((0, "./huge".into())));
    assert!(err.to_string().contains(&format!("ends {} bytes before the end of the content", size - 1000 - (1 << 20))));
    // The largest octal size (8 GiB - 1) and the numeric parser itself.
    assert_eq!(parse_numeric(b"77777777777\0"), Ok((1 << 33) - 1));
    assert_eq!(parse_numeric(&[0x80, 0, 0, 0, 0, 0, 0, 2, 0x40, 0, 0, 0]), Ok(9 << 30));
    assert_eq!(parse_numeric(&[0xff; 8]), Ok(-1));
    assert_eq!(parse_numeric(&[0x80, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(NumericError::Overflow));
    assert_eq!(parse_numeric(&[0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0]), Err(NumericError::Overflow));
    assert_eq!(parse_numeric(b" 0000644 \0"), Ok(0o644));
    assert_eq!(parse_numeric(b"\0\0\0\0"), Ok(0));
    assert_eq!(parse_numeric(b"12x4"), Err(NumericError::Syntax));
    assert_eq!(parse_numeric(b"777777777777777777777777"), Err(NumericError::Overflow));
}

#[test]
fn ends_of_archive() {
    let mut one = Vec::new();
    member(&mut one, b"a", b'0', b"x");
    // No end-of-archive blocks, or only one: accepted, as tar-split does.
    assert!(!split(&one, 512).unwrap().ended);
    let mut single_zero = one.clone();
    single_zero.extend_from_slice(&[0; 512]);
    assert_eq!(split(&single_zero, 100).unwrap().rebuilt, single_zero);
    // Truncations are not.
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (one[..300].to_vec(), "tar header at byte 300: the archive ends inside a header (300 of 512 bytes)"),
        (one[..512].to_vec(), "tar entry 0 (a) at byte 512: the archive ends 1 bytes before the end of the content"),
        (one[..600].to_vec(), "tar entry 0 (a) at byte 600: the archive ends 424 bytes before the end of the padding"),
        (single_zero[..1100].to_vec(), "tar header at byte 1100: the archive ends inside a header (76 of 512 bytes)"),
    ];
    for (tar, want) in cases {
        assert_eq!(split(&tar, 64).err().map(|e| e.to_string()).as_deref(), Some(want));
    }
}

fn damaged(tar: &[u8]) -> String {
    let mut splitter = Splitter::new();
    let result = splitter.push(tar).and_then(|_| splitter.finish());
    let err = result.expect_err("damaged archive accepted").to_string();
    // Nothing more is accepted afterwards.
    assert!(splitter.push(b"x").is_err());
    err
}

#[test]
fn hostile_headers_are_clear_errors() {
    let mut bad_sum = header(b"a", b'0', 0, b"");
    bad_sum[0] = b'b';
    let mut not_number_sum = header(b"a", b'0', 0, b"");
    not_number_sum[148..156].copy_from_slice(b"zzzzzzz\0");
    let mut neg_size = header(b"neg", b'0', 0, b"");
    neg_size[124..136].copy_from_slice(&[0xff; 12]);
    checksum(&mut neg_size);
    let mut overflow = header(b"big", b'0', 0, b"");
    overflow[124..136].copy_from_slice(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    checksum(&mut overflow);
    let mut bad_mode = header(b"m", b'0', 0, b"");
    bad_mode[100..108].copy_from_slice(b"0x12345\0");
    checksum(&mut bad_mode);
    let mut zero_then_data = vec![0u8; 512];
    zero_then_data.extend_from_slice(&header(b"late", b'0', 0, b""));
    let pax_of = |records: &[u8]| {
        let mut t = Vec::new();
        member(&mut t, b"PaxHeader", b'x', records);
        t.extend_from_slice(&header(b"f", b'0', 0, b""));
        t
    };
    let mut sparse = Vec::new();
    sparse.extend_from_slice(&header(b"s", b'S', 0, b""));
    let mut huge_pax = header(b"PaxHeader", b'x', 0, b"").to_vec();
    base256(&mut huge_pax[124..136], 1 << 40);
    let mut h: [u8; 512] = huge_pax.try_into().unwrap();
    checksum(&mut h);
    let mut pax_then_end = Vec::new();
    pax(&mut pax_then_end, b'x', &[(b"path", b"x")]);
    end(&mut pax_then_end);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (bad_sum.to_vec(), "tar header at byte 0: header checksum"),
        (not_number_sum.to_vec(), "header checksum field is not a number"),
        (b"hello world, not a tar".repeat(30), "tar header at byte 0: header checksum"),
        (neg_size.to_vec(), "tar entry 0 (neg) at byte 0: negative size -1"),
        (overflow.to_vec(), "tar header at byte 0: header field size overflows 63 bits"),
        (bad_mode.to_vec(), "header field mode is not an octal or base-256 number"),
        (zero_then_data, "tar header at byte 512: a zero block followed by a non-zero block"),
        (h.to_vec(), "PAX header of 1099511627776 bytes exceeds the limit of 1048576 bytes"),
        (pax_of(b"99999999999999999999 path=x\n"), "PAX record 0 has no valid length"),
        (pax_of(b"9999999 path=x\n"), "PAX record 0 has length 9999999, outside its 15 bytes of data"),
        // 2^32 + 20: read in 32 bits (usize on wasm32) it would be 20, a
        // whole record renaming the member; GNU tar refuses it too.
        (pax_of(b"4294967316 path=renamed\n"), "PAX record 0 has length 4294967316, outside its 24 bytes of data"),
        (pax_of(b"3 a\n"), "PAX record 0 has length 3"),
        (pax_of(b"9 pathxy\n"), "PAX record 0 has no '='"),
        (pax_of(b"10 path=xy"), "PAX record 0 does not end with a newline"),
        (pax_of(b"12 path=x\0y\n"), "PAX record 0 has a NUL in its value"),
        (pax_of(b"7 =abc\n"), "PAX record 0 has an empty key"),
        (pax_of(b"nolength"), "PAX record 0 has no length"),
        (pax_of(b"12 size=-10\n"), "negative size -10"),
        (pax_of(b"12 size=abc\n"), "PAX size \"abc\" is not a number"),
        (pax_of(b"14 mtime=1.2x\n"), "PAX mtime \"1.2x\" is not a time"),
        (pax_of(b"22 GNU.sparse.major=1\n"), "GNU sparse files are not supported"),
        (sparse, "tar entry 0 (s) at byte 0: GNU sparse files are not supported"),
        (pax_then_end, "extended headers are followed by the end of the archive"),
    ];
    for (tar, want) in cases {
        let got = damaged(&tar);
        assert!(got.contains(want), "\n  got:  {got}\n  want: {want}");
    }
}

#[test]
fn signed_checksums_and_v7_headers_are_accepted() {
    // A v7 header (no magic) whose checksum is the signed sum (old tars).
    let mut v7 = [0u8; 512];
    v7[..4].copy_from_slice(b"v7\xe9x");
    octal(&mut v7[100..108], 0o755);
    octal(&mut v7[124..136], 2);
    v7[156] = b'0';
    v7[148..156].fill(b' ');
    let signed: i64 = v7.iter().map(|&b| i64::from(b as i8)).sum();
    v7[148..156].copy_from_slice(format!("{signed:06o}\0 ").as_bytes());
    let mut tar = v7.to_vec();
    tar.extend_from_slice(b"hi");
    pad(&mut tar);
    let got = split(&tar, 3).unwrap();
    assert_eq!(got.entries[0].path, b"v7\xe9x");
    assert_eq!(got.contents[0], b"hi");
}
