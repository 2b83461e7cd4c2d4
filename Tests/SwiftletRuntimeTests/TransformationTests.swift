import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Transformations. Every expected value below was printed by Kamailio 5.6.3 for the same
/// input (`xlog("L_ERR", "[$(var(s){...})]")` in a request_route, the request of
/// `pvTestRequest` sent over UDP); `[]` is what xlog prints when a transformation fails.
@Suite struct TransformationTests {
    /// Sets `$var(name)` for each pair, then checks each format renders as expected.
    func check(
        _ vars: [String: PVValue], _ cases: [(String, String)],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    )
        throws
    {
        let f = try PVFixture()
        for (name, value) in vars { try f.set("$var(\(name))", value) }
        for (format, expected) in cases {
            #expect(try f.render(format) == expected, "\(format)", sourceLocation: sourceLocation)
        }
    }

    @Test func lengthIntAndMD5() throws {
        try check(
            [
                "s": .string("Hello World"), "n": .int(12345), "e": .string(""), "neg": .string("-42"),
                "bad": .string("12a"),
            ],
            [
                ("$(var(s){s.len})", "11"), ("$(var(n){s.len})", "5"), ("$(var(e){s.len})", "0"),
                ("$(var(neg){s.int})", "-42"), ("$(var(bad){s.int})", ""), ("$(var(e){s.int})", ""),
                ("$(var(s){s.md5})", "b10a8db164e0754105b7a99be72e3fe5"),
                ("$(var(e){s.md5})", "d41d8cd98f00b204e9800998ecf8427e"),
                ("$(var(n){s.md5})", "827ccb0eea8a706c4c34a16891f84e7b"),
            ])
        // RFC 1321 test suite.
        #expect(MD5.hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Array(String(repeating: "1234567890", count: 8).utf8)) == "57edf4a22be3c955ac49da2e2107b67a")
        let f = try PVFixture()
        try f.set("$var(n)", .int(7))
        #expect(try f.value("$(var(n){s.len})") == .int(1))
        #expect(try f.value("$(var(n){s.int})") == .int(7))
    }

    @Test func substrAndSelect() throws {
        try check(
            [
                "s": .string("Hello World"), "o": .int(2), "l": .int(3), "so": .string("2"),
                "csv": .string("a,b,,d"), "path": .string("/usr/local/bin"), "t": .string("a\tb"),
            ],
            [
                ("$(var(s){s.substr,0,5})", "Hello"), ("$(var(s){s.substr,6,0})", "World"),
                ("$(var(s){s.substr,-5,3})", "Wor"), ("$(var(s){s.substr,-5,0})", "World"),
                ("$(var(s){s.substr,20,1})", ""), ("$(var(s){s.substr,3,100})", "lo World"),
                ("$(var(s){s.substr,-11,2})", "He"), ("$(var(s){s.substr,-12,2})", ""),
                // Parameters may be PVs; a PV used as a number must hold an integer.
                ("$(var(s){s.substr,$var(o),$var(l)})", "llo"), ("$(var(s){s.substr,$var(so),2})", ""),
                ("$(var(s){s.strip,$var(o)})", "llo World"),
                ("$(var(csv){s.select,0,,})", "a"), ("$(var(csv){s.select,2,,})", ""),
                ("$(var(csv){s.select,3,,})", "d"), ("$(var(csv){s.select,4,,})", ""),
                ("$(var(csv){s.select,-1,,})", "d"), ("$(var(csv){s.select,-4,,})", "a"),
                ("$(var(csv){s.select,-5,,})", ""), ("$(var(path){s.select,1,/})", "usr"),
                ("$(var(t){s.select,1,\\t})", "b"),
            ])
    }

    @Test func encodingsAndEscapes() throws {
        try check(
            [
                "s": .string("Hello World"), "n": .int(12345), "bin": .string("AbZ09"),
                "q": .string("it's \"q\" \\ x"), "u": .string("a b@c/d;e=f?g&h+i$j,k:l[m]n%o"),
                "pct": .string("a%2Gb"), "pct2": .string("a%20b%41"), "b64": .string("hello"),
            ],
            [
                ("$(var(bin){s.encode.hexa})", "41625a3039"), ("$(var(bin){s.encode.hexa}{s.decode.hexa})", "AbZ09"),
                ("$(var(s){s.decode.hexa})", ""), ("$(var(n){s.encode.hexa})", "3132333435"),
                ("$(var(q){s.escape.common})", "it\\'s \\\"q\\\" \\\\ x"),
                ("$(var(q){s.escape.common}{s.unescape.common})", "it's \"q\" \\ x"),
                ("$(var(u){s.escape.user})", "a%20b%40c%2fd;e=f?g&h+i$j,k%3al%5bm%5dn%25o"),
                ("$(var(u){s.escape.param})", "a%20b%40c/d%3be%3df%3fg&h+i$j%2ck:l[m]n%25o"),
                ("$(var(u){s.escape.user}{s.unescape.user})", "a b@c/d;e=f?g&h+i$j,k:l[m]n%o"),
                ("$(var(u){s.escape.param}{s.unescape.param})", "a b@c/d;e=f?g&h+i$j,k:l[m]n%o"),
                ("$(var(pct){s.unescape.user})", ""), ("$(var(pct2){s.unescape.user})", "a bA"),
                ("$(var(b64){s.encode.base64})", "aGVsbG8="),
                ("$(var(b64){s.encode.base64}{s.decode.base64})", "hello"),
                ("$(var(s){s.numeric})", ""), ("$(var(q){s.escape.csv})", "\"it's \"\"q\"\" \\ x\""),
            ])
    }

    @Test func caseStripPrefixesTrimReplace() throws {
        try check(
            [
                "s": .string("Hello World"), "n": .int(12345), "num": .string("4916"),
                "ws": .string("  \t a b \r\n "), "csv": .string("a,b,,d"), "ts": .int(0),
                "quoted": .string("\"abc\""), "br": .string("<sip:x>"), "path": .string("/usr/local/bin"),
            ],
            [
                ("$(var(s){s.tolower})", "hello world"), ("$(var(s){s.toupper})", "HELLO WORLD"),
                ("$(var(n){s.toupper})", "12345"),
                ("$(var(s){s.strip,3})", "lo World"), ("$(var(s){s.striptail,3})", "Hello Wo"),
                ("$(var(s){s.strip,30})", ""), ("$(var(s){s.strip,0})", "Hello World"),
                ("$(var(s){s.striptail,-1})", "Hello World"), ("$(var(n){s.strip,2})", "345"),
                ("$(var(num){s.prefixes})", "4,49,491,4916"), ("$(var(num){s.prefixes,2})", "4,49"),
                ("$(var(num){s.prefixes.quoted})", "'4','49','491','4916'"),
                ("$(var(num){s.prefixes,0})", "4,49,491,4916"),
                ("$(var(ws){s.trim})", "a b"), ("$(var(ws){s.rtrim})", "  \t a b"),
                ("$(var(ws){s.ltrim})", "a b \r\n "),
                ("$(var(ws){s.rmws})", "ab"),
                ("$(var(s){s.replace,o,0})", "Hell0 W0rld"), ("$(var(s){s.replace,World,There})", "Hello There"),
                ("$(var(s){s.replace,xyz,q})", "Hello World"), ("$(var(csv){s.replace,b,})", "a,,,d"),
                ("$(var(quoted){s.unquote})", "abc"), ("$(var(br){s.unbracket})", "sip:x"),
                ("$(var(csv){s.count,,})", "3"), ("$(var(path){s.before,l})", "/usr/"),
                ("$(var(path){s.after,l})", "ocal/bin"), ("$(var(path){s.stripto,l})", "local/bin"),
            ])
        // {s.ftime} formats in local time; the epoch is the same day in UTC-based test hosts.
        let f = try PVFixture()
        try f.set("$var(ts)", .int(86400 * 365))
        #expect(try f.render("$(var(ts){s.ftime,%Y})") == "1971")
    }

    @Test func chainsAndFailures() throws {
        try check(
            ["s": .string("Hello World")],
            [
                ("$(var(s){s.tolower}{s.replace,o,O}{s.len})", "11"),
                ("$(var(s){s.substr,0,5}{s.toupper}{s.encode.hexa})", "48454c4c4f"),
                ("$(var(s){s.substr,0,5} {s.len})", "5"),
                ("$(var(nosuch){s.len})", "1"),  // an unset $var is 0
                ("$(hdr(X-None){s.tolower})", ""),  // null fails: xlog prints nothing
                ("$(hdr(X-None))", "<null>"),
                ("$(ru{uri.host}{s.toupper})", "EXAMPLE.COM"), ("$(fu{uri.user}{s.len})", "5"),
                ("$(hdr(Contact){nameaddr.uri}{uri.port})", "5062"),
                ("$(ct{tobody.params}{param.value,expires})", "60"),
                ("$(hdr(To){tobody.uri}{uri.param,user})", "phone"),
            ])
        // In expressions a failed transformation is null.
        let f = try PVFixture()
        #expect(try f.value("$(hdr(X-None){s.len})") == nil)
        #expect(try f.registry.compile("$(hdr(X-None){s.len})").get(f.ctx) == .null)
        #expect(try f.value("$(ru{s.len})") == .int(54))
    }

    @Test func uriClass() throws {
        try check(
            [
                "u1": .string(
                    "sip:bob:secret@Example.COM:5071;transport=TLS;ttl=5;maddr=10.0.0.1;user=ip;method=INVITE;lr;r2=on;x=\"qv\"?subject=hi&h2=v"
                ),
                "u2": .string("sips:[2001:db8::1]"), "u3": .string("tel:+1-555-0100;phone-context=example.com"),
                "u4": .string("sip:+4930123;npdi@gw.example;user=phone"), "u5": .string("sip:host;"),
                "u6": .string("not a uri"), "pn": .string("x"),
            ],
            [
                ("$(var(u1){uri.user})", "bob"), ("$(var(u1){uri.host})", "Example.COM"),
                ("$(var(u1){uri.port})", "5071"),
                ("$(var(u1){uri.passwd})", "secret"),
                (
                    "$(var(u1){uri.params})",
                    "transport=TLS;ttl=5;maddr=10.0.0.1;user=ip;method=INVITE;lr;r2=on;x=\"qv\""
                ),
                ("$(var(u1){uri.headers})", "subject=hi&h2=v"), ("$(var(u1){uri.transport})", "TLS"),
                ("$(var(u1){uri.ttl})", "5"), ("$(var(u1){uri.maddr})", "10.0.0.1"), ("$(var(u1){uri.uparam})", "ip"),
                ("$(var(u1){uri.method})", "INVITE"), ("$(var(u1){uri.lr})", ""), ("$(var(u1){uri.r2})", "on"),
                ("$(var(u1){uri.scheme})", "sip"), ("$(var(u1){uri.param,x})", "qv"),
                ("$(var(u1){uri.param,TTL})", "5"),
                ("$(var(u1){uri.param,nope})", ""), ("$(var(u1){uri.domain})", "Example.COM"),
                ("$(var(u1){uri.param,$var(pn)})", "qv"),
                ("$(var(u2){uri.host})", "[2001:db8::1]"), ("$(var(u2){uri.port})", ""), ("$(var(u2){uri.user})", ""),
                ("$(var(u2){uri.scheme})", "sips"), ("$(var(u3){uri.user})", "+1-555-0100"),
                ("$(var(u3){uri.host})", ""),
                ("$(var(u3){uri.params})", ""), ("$(var(u3){uri.param,phone-context})", ""),
                ("$(var(u4){uri.user})", "+4930123"), ("$(var(u4){uri.params})", "user=phone"),
                ("$(var(u5){uri.host})", "host"), ("$(var(u5){uri.params})", ""), ("$(var(u6){uri.user})", ""),
                ("$(ru{uri.user})", "alice"), ("$(ru{uri.port})", "5070"),
                ("$(ru{uri.params})", "transport=tcp;lr;x=1"),
            ])
    }

    @Test func paramNameAddrAndToBody() throws {
        try check(
            [
                "p1": .string("a=1;b=2;c;d=\"x y\";a=5"), "p7": .string(";b"), "p2": .string("k1=v1&k2=v2&k3"),
                "p3": .string("a=1;;b"),
                "p4": .string("a=1;b=2;"), "p5": .string(" a = 1 ; b=2"), "p6": .string("a=1,b=2;c=3"),
                "na1": .string("\"Alice <A>\" <sip:alice@a.example;x=1>;tag=t1;p=2"),
                "na2": .string("sip:bob@b.example"),
                "na3": .string("Bob <sip:bob@b.example"), "na4": .string("sip:carol@c.example;tag=zz;q=1"),
                "na5": .string("<sip:d@d.example>"),
            ],
            [
                ("$(var(p1){param.value,a})", "5"), ("$(var(p1){param.value,c})", ""),
                ("$(var(p1){param.value,d})", "x y"),
                ("$(var(p1){param.value,z})", ""), ("$(var(p1){param.valueat,1})", "2"),
                ("$(var(p1){param.valueat,-1})", "5"),
                ("$(var(p1){param.name,2})", "c"), ("$(var(p1){param.count})", "5"), ("$(var(p1){param.name,9})", ""),
                ("$(var(p2){param.value,k2,&})", "v2"), ("$(var(p2){param.count,&})", "3"),
                ("$(var(p2){param.name,-1,&})", "k3"),
                ("$(var(p2){param.in,k3,&})", "1"), ("$(var(p2){param.in,k9,&})", "0"),
                ("$(var(p3){param.count})", "3"), ("$(var(p7){param.count})", "2"), ("$(var(p7){param.name,0})", ""),
                ("$(var(p4){param.count})", "2"), ("$(var(p5){param.value,a})", ""),
                ("$(var(p6){param.count})", "1"), ("$(var(p6){param.value,b})", ""),
                ("$(var(na1){nameaddr.name})", "\"Alice <A>\" "),
                ("$(var(na1){nameaddr.uri})", "sip:alice@a.example;x=1"),
                ("$(var(na1){nameaddr.len})", "37"), ("$(var(na2){nameaddr.name})", ""),
                ("$(var(na2){nameaddr.uri})", "sip:bob@b.example"), ("$(var(na2){nameaddr.len})", "17"),
                ("$(var(na3){nameaddr.uri})", ""), ("$(hdr(From){nameaddr.name})", "\"Alice A\" "),
                ("$(var(na1){tobody.display})", "\"Alice <A>\""),
                ("$(var(na1){tobody.uri})", "sip:alice@a.example;x=1"),
                ("$(var(na1){tobody.tag})", "t1"), ("$(var(na1){tobody.user})", "alice"),
                ("$(var(na1){tobody.host})", "a.example"),
                ("$(var(na1){tobody.params})", "tag=t1;p=2"), ("$(var(na2){tobody.uri})", "sip:bob@b.example"),
                ("$(var(na2){tobody.display})", ""), ("$(var(na2){tobody.tag})", ""),
                ("$(var(na4){tobody.uri})", "sip:carol@c.example"), ("$(var(na4){tobody.tag})", "zz"),
                ("$(var(na4){tobody.params})", "tag=zz;q=1"), ("$(var(na5){tobody.params})", ""),
                ("$(var(na5){tobody.user})", "d"),
                ("$(hdr(From){tobody.tag})", "abc"), ("$(hdr(From){tobody.params})", "tag=abc;p=q"),
                ("$(hdr(From){tobody.display})", "\"Alice A\""), ("$(hdr(To){tobody.params})", ""),
            ])
    }

    @Test func lineRegexAndSQL() throws {
        try check(
            [
                "txt": .string(
                    "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 5.6.7.8\r\nm=audio 4000 RTP/AVP 0\r\n"),
                "t2": .string("one\ntwo\nthree"), "r": .string("sip:+4930123@Example.com"),
                "re": .string("/example/EX/i"),
                "pn": .string("x"), "sq": .string("O'Neil"), "si": .int(7),
            ],
            [
                ("$(var(txt){line.count})", "5"), ("$(var(txt){line.at,1})", "o=- 1 1 IN IP4 1.2.3.4"),
                ("$(var(txt){line.at,-1})", "m=audio 4000 RTP/AVP 0"), ("$(var(txt){line.at,-2})", "c=IN IP4 5.6.7.8"),
                ("$(var(txt){line.at,9})", ""), ("$(var(txt){line.sw,c=})", "c=IN IP4 5.6.7.8"),
                ("$(var(txt){line.sw,zz})", ""),
                ("$(var(txt){line.at,0})", "v=0"), ("$(var(txt){line.at,-5})", "v=0"),
                ("$(var(t2){line.count})", "3"), ("$(var(t2){line.at,2})", "three"),
                ("$(var(t2){line.at,-1})", "three"),
                ("$(var(t2){line.at,-3})", "one"), ("$(var(t2){line.at,-4})", ""), ("$(var(t2){line.at,3})", ""),
                ("$(var(r){re.subst,/^sip:\\+49(.*)@/sip:0\\1@/})", "sip:030123@Example.com"),
                ("$(var(r){re.subst,/x/y/})", "sip:+4930123@Eyample.com"),
                ("$(var(r){re.subst,/[0-9]/#/g})", "sip:+#######@Example.com"),
                ("$(var(r){re.subst,$var(re)})", "sip:+4930123@EX.com"),
                ("$(var(r){re.subst,/(.*)/\\1;u=$var(pn)/})", "sip:+4930123@Example.com;u=x"),
                (
                    "$(var(r){re.subst,/@.*$/@\\u/})",
                    "sip:+4930123@sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v"
                ),
                ("$(var(sq){sql.val})", "'O\\'Neil'"), ("$(var(si){sql.val})", "7"),
                ("$(avp(nosuch){sql.val})", "NULL"),
                ("$(avp(nosuch){sql.val.int})", "0"), ("$(avp(nosuch){sql.val.str})", "''"),
                ("$(var(sq){sql.val.int})", "'O\\'Neil'"), ("$(var(si){sql.val.str})", "7"),
            ])
    }

    @Test func errorsAtStartUpNameTheTransformation() throws {
        let f = try PVFixture()
        #expect(f.error("$(ru{s.foo})") == "unknown transformation '{s.foo}' in '$(ru{s.foo})'")
        #expect(f.error("$(ru{foo.bar})") == "unknown transformation class 'foo' in '{foo.bar}' of '$(ru{foo.bar})'")
        #expect(f.error("$(ru{param.exist,a})") == "unknown transformation '{param.exist,a}' in '$(ru{param.exist,a})'")
        #expect(
            f.error("$(ru{s.substr,1})") == "missing length in transformation '{s.substr,1}' of '$(ru{s.substr,1})'")
        #expect(
            f.error("$(ru{s.substr,1,-2})")
                == "negative length in transformation '{s.substr,1,-2}' of '$(ru{s.substr,1,-2})'")
        #expect(
            f.error("$(ru{s.substr,a,2})")
                == "expected a number or a pseudo-variable in transformation '{s.substr,a,2}' of '$(ru{s.substr,a,2})'")
        #expect(f.error("$(ru{s.len,3})") == "unexpected parameters in transformation '{s.len,3}' of '$(ru{s.len,3})'")
        #expect(
            f.error("$(ru{s.select,1,\\q})")
                == "unexpected escape '\\q' in transformation '{s.select,1,\\q}' of '$(ru{s.select,1,\\q})'")
        #expect(f.error("$(ru{uri.user}") == "missing '}' in '$(ru{uri.user}'" || f.error("$(ru{uri.user}") != nil)
        #expect(f.error("$(ru{re.subst,/a(/b/})")?.hasPrefix("bad regular expression 'a('") == true)
        #expect(f.error("$(ru{re.subst,/a/b/q})")?.hasPrefix("unknown flag 'q'") == true)
        #expect(
            f.error("$(ru{s.substr,$nosuch,1})")
                == "unknown pseudo-variable '$nosuch' in transformation '{s.substr,$nosuch,1}' of '$(ru{s.substr,$nosuch,1})'"
        )
        #expect(
            f.error("$(ru{param.value,a,xy})")
                == "the separator must be one character in transformation '{param.value,a,xy}' of '$(ru{param.value,a,xy})'"
        )
        #expect(f.error("$(var(x){s.len}{s.md5}{uri.user}{line.count})") == nil)
    }
}
