import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SIPp processes for one exchange: any number of UASes (the callees) and one UAC (the
/// caller), each tracing its messages (`-trace_msg`) into a file of a temporary directory,
/// so that a test can check what each side sent and received beyond the scenario's own
/// checks.
enum SIPpParties {
    /// One SIPp run: its exit status (0 only if every call of its scenario completed), its
    /// output, and its message trace (empty without tracing).
    struct Run {
        let status: Int32
        let text: String
        let messages: String

        /// The first lines of the messages it received, in order (requests and replies;
        /// SIPp's second copy of an unexpected message is left out).
        var received: [String] { SIPpParties.firstLines(of: messages, direction: "received") }

        /// The received messages with the time each came (seconds of the day).
        var timedReceived: [(time: Double, text: String)] {
            SIPpParties.timedMessages(of: messages, direction: "received")
        }

        /// The first lines of the messages it sent, in order.
        var sent: [String] { SIPpParties.firstLines(of: messages, direction: "sent") }

        /// The received messages (start line and headers) whose first line starts with `prefix`.
        func receivedMessages(startingWith prefix: String) -> [String] {
            SIPpParties.messages(of: messages, direction: "received").filter { $0.hasPrefix(prefix) }
        }

        /// Status and the end of the output and trace, for a failing expectation.
        var summary: String { "exit \(status)\n\(text.suffix(1500))\n--- messages:\n\(messages.suffix(3000))" }
    }

    /// Starts every UAS, waits 300 ms, runs the UAC to its end, then waits (at most
    /// `uasGrace` seconds) for the UASes. `-nostdin`, `-timeout` and the trace options are
    /// added to every argument list; `trace: false` leaves the message traces out (long runs).
    static func run(
        uases: [[String]], uac: [String], timeout: Int = 20, uasGrace: TimeInterval = 10, trace: Bool = true
    ) throws -> (uac: Run, uases: [Run]) {
        let directory = TemporaryDirectory()
        // Output goes to files: a pipe nobody reads while the UAC runs could fill up and
        // stall a UAS.
        func start(_ arguments: [String], _ name: String) throws -> (SpawnedProcess, String, String) {
            let p = SpawnedProcess()
            p.executableURL = URL(fileURLWithPath: sippPath!)
            p.currentDirectoryURL = URL(fileURLWithPath: directory.path)
            let tracePath = directory.path + "/\(name).msg"
            let outputPath = directory.write("\(name).out", "")
            p.arguments =
                arguments + ["-nostdin", "-timeout", "\(timeout)s"]
                + (trace ? ["-trace_msg", "-message_file", tracePath] : [])
            let out = FileHandle(forWritingAtPath: outputPath)
            p.standardOutput = out
            p.standardError = out
            try p.run()
            return (p, outputPath, tracePath)
        }
        func finish(_ p: SpawnedProcess, _ output: String, _ trace: String, within seconds: TimeInterval) -> Run {
            let status = p.waitForExit(timeout: seconds)
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            let messages = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
            return Run(status: status, text: text, messages: messages)
        }
        var started: [(SpawnedProcess, String, String)] = []
        for (i, arguments) in uases.enumerated() { started.append(try start(arguments, "uas\(i + 1)")) }
        usleep(300_000)
        let (uacProcess, uacOut, uacTrace) = try start(uac, "uac")
        let uacRun = finish(uacProcess, uacOut, uacTrace, within: TimeInterval(timeout + 30))
        let deadline = Date().addingTimeInterval(uasGrace)
        var uasRuns: [Run] = []
        for (p, out, trace) in started {
            uasRuns.append(finish(p, out, trace, within: max(0, deadline.timeIntervalSinceNow)))
        }
        return (uacRun, uasRuns)
    }

    /// The messages of a SIPp message trace that went in `direction` ("sent" or "received"),
    /// each its text up to the empty line.
    static func messages(of trace: String, direction: String) -> [String] {
        timedMessages(of: trace, direction: direction).map(\.text)
    }

    /// The same with the time of each (seconds of the day, as SIPp logged it).
    static func timedMessages(of trace: String, direction: String) -> [(time: Double, text: String)] {
        // Blocks: "----... <date> <time>\nUDP message received [n] bytes :\n\n<message>".
        // SIP's CRLF is one Character in Swift: make the lines LF-only first.
        trace.replacingOccurrences(of: "\r\n", with: "\n").components(
            separatedBy: "\n-----------------------------------------------"
        ).compactMap { block in
            let lines = block.components(separatedBy: "\n")
            guard lines.count > 3, lines[1].hasSuffix("bytes :") || lines[1].hasSuffix("bytes):"),
                lines[1].contains("message \(direction)")
            else { return nil }
            let clock = (lines[0].split { $0 == " " || $0 == "\t" }.last ?? "").split(separator: ":").compactMap {
                Double($0)
            }
            let time = clock.count == 3 ? clock[0] * 3600 + clock[1] * 60 + clock[2] : 0
            let message = lines.dropFirst(3).prefix { !$0.isEmpty }
            return (time, message.joined(separator: "\n"))
        }
    }

    static func firstLines(of trace: String, direction: String) -> [String] {
        messages(of: trace, direction: direction).map { String($0.prefix { $0 != "\n" }) }
    }
}
