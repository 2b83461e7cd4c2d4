import Foundation

/// Keys for the jwt tests, made once per test process with the `openssl` command in a
/// temporary directory, and tokens signed by `openssl` (not by the module) from them.
final class JWTTestKeys: @unchecked Sendable {
    static let shared = JWTTestKeys()

    let directory = TemporaryDirectory()
    /// An HMAC secret file (its trailing newline is part of the secret, as Kamailio reads it).
    let secret: String
    /// RSA 2048: PKCS#8 private key, its SPKI public key, and another pair (a wrong key).
    let rsaPrivate: String
    let rsaPublic: String
    let rsaPrivatePKCS1: String
    let otherRSAPublic: String
    /// EC P-256 as `openssl ecparam -genkey` writes it (EC PARAMETERS, then EC PRIVATE KEY),
    /// its public key and another public key.
    let ecPrivate: String
    let ecPublic: String
    let otherECPublic: String
    /// EC P-384 (ES384).
    let ec384Private: String
    let ec384Public: String
    /// Ed25519 (EdDSA): PKCS#8 private key, SPKI public key, and another public key.
    let edPrivate: String
    let edPublic: String
    let otherEdPublic: String

    private init() {
        let d = directory.path
        secret = directory.write("hs.key", "s3cr3t-shared-by-both-ends\n")
        rsaPrivate = d + "/rsa.pem"
        rsaPublic = d + "/rsa.pub"
        rsaPrivatePKCS1 = d + "/rsa-pkcs1.pem"
        otherRSAPublic = d + "/rsa2.pub"
        ecPrivate = d + "/ec.pem"
        ecPublic = d + "/ec.pub"
        otherECPublic = d + "/ec2.pub"
        ec384Private = d + "/ec384.pem"
        ec384Public = d + "/ec384.pub"
        edPrivate = d + "/ed.pem"
        edPublic = d + "/ed.pub"
        otherEdPublic = d + "/ed2.pub"
        Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsaPrivate])
        Self.openssl(["pkey", "-in", rsaPrivate, "-pubout", "-out", rsaPublic])
        Self.openssl(["rsa", "-in", rsaPrivate, "-traditional", "-out", rsaPrivatePKCS1])
        Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", d + "/rsa2.pem"])
        Self.openssl(["pkey", "-in", d + "/rsa2.pem", "-pubout", "-out", otherRSAPublic])
        Self.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-out", ecPrivate])
        Self.openssl(["ec", "-in", ecPrivate, "-pubout", "-out", ecPublic])
        Self.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d + "/ec2.pem"])
        Self.openssl(["ec", "-in", d + "/ec2.pem", "-pubout", "-out", otherECPublic])
        Self.openssl(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", ec384Private])
        Self.openssl(["ec", "-in", ec384Private, "-pubout", "-out", ec384Public])
        Self.openssl(["genpkey", "-algorithm", "ed25519", "-out", edPrivate])
        Self.openssl(["pkey", "-in", edPrivate, "-pubout", "-out", edPublic])
        Self.openssl(["genpkey", "-algorithm", "ed25519", "-out", d + "/ed2.pem"])
        Self.openssl(["pkey", "-in", d + "/ed2.pem", "-pubout", "-out", otherEdPublic])
    }

    @discardableResult
    static func openssl(_ args: [String]) -> (status: Int32, stdout: String, stderr: String) {
        let r: (status: Int32, stdout: String, stderr: String) =
            (try? runProgram("/usr/bin/openssl", args, timeout: 60)) ?? (-1, "", "openssl did not run")
        if r.status != 0 { print("openssl \(args.joined(separator: " ")): \(r.stderr)") }
        return r
    }

    /// The text of a key file.
    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    // MARK: tokens made without the module

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64urlDecode(_ text: String) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }

    /// `header.payload` of JSON texts, base64url-encoded.
    static func signingInput(header: String, payload: String) -> String {
        base64url(Data(header.utf8)) + "." + base64url(Data(payload.utf8))
    }

    /// A token signed by `openssl` with `alg` (HS*, RS*, ES*, PS*, EdDSA) and the key at
    /// `keyPath` (an HMAC secret file or a private key).
    func opensslToken(header: String, payload: String, alg: String, keyPath: String) -> String {
        let input = Self.signingInput(header: header, payload: payload)
        return input + "." + Self.base64url(opensslSignature(of: input, alg: alg, keyPath: keyPath))
    }

    func opensslSignature(of input: String, alg: String, keyPath: String) -> Data {
        let digest = "-sha" + alg.suffix(3)
        let inputPath = directory.write("input-\(UUID().uuidString)", input)
        let sigPath = inputPath + ".sig"
        if alg == "EdDSA" {
            Self.openssl(["pkeyutl", "-sign", "-inkey", keyPath, "-rawin", "-in", inputPath, "-out", sigPath])
        } else if alg.hasPrefix("PS") {
            Self.openssl(
                ["dgst", digest, "-sign", keyPath] + Self.pssOptions + ["-binary", "-out", sigPath, inputPath])
        } else if alg.hasPrefix("HS") {
            let hex = (FileManager.default.contents(atPath: keyPath) ?? Data()).map { String(format: "%02x", $0) }
                .joined()
            Self.openssl([
                "dgst", digest, "-mac", "HMAC", "-macopt", "hexkey:\(hex)", "-binary", "-out", sigPath, inputPath,
            ])
        } else {
            Self.openssl(["dgst", digest, "-sign", keyPath, "-binary", "-out", sigPath, inputPath])
        }
        let signature = FileManager.default.contents(atPath: sigPath) ?? Data()
        if alg.hasPrefix("ES") { return Self.rawECDSA(fromDER: signature, size: alg == "ES256" ? 32 : 48) }
        return signature
    }

    /// Whether `openssl dgst -verify` accepts a token's signature with the public key at
    /// `publicKeyPath` (RS*, ES*), or `openssl dgst -mac HMAC` computes the same (HS*).
    func opensslAccepts(_ token: String, alg: String, keyPath: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let signature = Self.base64urlDecode(parts[2]) else { return false }
        let input = parts[0] + "." + parts[1]
        if alg.hasPrefix("HS") { return opensslSignature(of: input, alg: alg, keyPath: keyPath) == signature }
        let inputPath = directory.write("input-\(UUID().uuidString)", input)
        let sigPath = inputPath + ".sig"
        let der = alg.hasPrefix("ES") ? Self.derECDSA(fromRaw: signature) : signature
        _ = FileManager.default.createFile(atPath: sigPath, contents: der)
        if alg == "EdDSA" {
            let r = Self.openssl([
                "pkeyutl", "-verify", "-pubin", "-inkey", keyPath, "-rawin", "-in", inputPath, "-sigfile", sigPath,
            ])
            return r.status == 0 && r.stdout.contains("Signature Verified Successfully")
        }
        let r = Self.openssl(
            ["dgst", "-sha" + alg.suffix(3), "-verify", keyPath] + (alg.hasPrefix("PS") ? Self.pssOptions : [])
                + ["-signature", sigPath, inputPath])
        return r.status == 0 && r.stdout.contains("Verified OK")
    }

    /// RSASSA-PSS as RFC 7518 section 3.5 has it: MGF1 with the same hash, a salt as long as
    /// the hash.
    static let pssOptions = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]

    /// ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) to JWS's R || S.
    static func rawECDSA(fromDER der: Data, size: Int) -> Data {
        let b = [UInt8](der)
        var i = 2
        if b.count > 1, b[1] & 0x80 != 0 { i = 2 + Int(b[1] & 0x7F) }
        var out = Data()
        for _ in 0..<2 {
            guard i + 1 < b.count, b[i] == 0x02 else { return Data() }
            let len = Int(b[i + 1])
            var int = Array(b[(i + 2)..<(i + 2 + len)])
            while int.count > size, int.first == 0 { int.removeFirst() }
            out += Data(repeating: 0, count: size - int.count) + Data(int)
            i += 2 + len
        }
        return out
    }

    /// JWS's R || S to an ECDSA-Sig-Value.
    static func derECDSA(fromRaw raw: Data) -> Data {
        let half = raw.count / 2
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var v = Array(bytes.drop { $0 == 0 })
            if v.isEmpty { v = [0] }
            if v[0] & 0x80 != 0 { v.insert(0, at: 0) }
            return [0x02, UInt8(v.count)] + v
        }
        let r = [UInt8](raw)
        let body = integer(r[0..<half]) + integer(r[half...])
        let header: [UInt8] = body.count < 128 ? [0x30, UInt8(body.count)] : [0x30, 0x81, UInt8(body.count)]
        return Data(header + body)
    }
}
