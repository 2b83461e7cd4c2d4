import Foundation

/// Headless Chromium for the real-browser tests, driven over the DevTools protocol by
/// Tests/Fixtures/chromium/cdp_driver.py (python3 standard library only). The tests skip when
/// Debian's `chromium` is not installed (`scripts/deps.sh test` installs it).
enum HeadlessChromium {
    static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/chromium").path
    static let driver = fixtures + "/cdp_driver.py"
    static var available: Bool {
        path != nil && WebSocketServerTests.python != nil && sippPath != nil
    }

    /// Where screenshots go: `$CI_ARTIFACTS`, else `.build/artifacts` of the package.
    static var artifacts: String {
        if let dir = ProcessInfo.processInfo.environment["CI_ARTIFACTS"], !dir.isEmpty { return dir }
        return URL(fileURLWithPath: fixtures).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/artifacts").path
    }

    /// What the driver reported.
    struct Run {
        let status: Int32
        let output: String
        /// Whether the `until` expression became true.
        var reached: Bool { output.contains("UNTIL ok") }
        /// The JSON values of the `print` expressions, in order.
        var printed: [Any] {
            output.split(separator: "\n").compactMap { line -> Any? in
                guard line.hasPrefix("PRINT ") else { return nil }
                return try? JSONSerialization.jsonObject(
                    with: Data(line.dropFirst(6).utf8), options: [.fragmentsAllowed])
            }
        }
    }

    /// Opens `url`, waits (at most `timeout` seconds) until the JavaScript expression `until`
    /// is true, then evaluates each of `print` and saves a screenshot when asked.
    static func run(
        _ url: String, until: String, print: [String] = [], screenshot: String? = nil, timeout: Int = 30
    ) throws -> Run {
        var args = [driver, url, "--until", until, "--timeout", String(timeout)]
        for p in print { args += ["--print", p] }
        if let screenshot { args += ["--screenshot", screenshot] }
        let r = try runProgram(WebSocketServerTests.python!, args, timeout: TimeInterval(timeout + 40))
        return Run(status: r.status, output: r.stdout + r.stderr)
    }
}
