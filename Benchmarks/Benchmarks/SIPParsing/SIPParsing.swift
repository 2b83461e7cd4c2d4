import Benchmark
import Foundation
import SwiftletSIP

/// The typical INVITE of Tests/Fixtures/invite.sip (~1 KB, 15 headers, SDP body).
let invite: [UInt8] = {
    let here = URL(fileURLWithPath: #filePath)
    let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return [UInt8](try! Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/invite.sip")))
}()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        // Each sample runs 1000 parses; figures are reported per parse.
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 10_000
    )

    // Parse and read the fields a proxy reads for every request.
    Benchmark("parse INVITE + Via/From/To/CSeq/Call-ID/Contact") { benchmark in
        for _ in benchmark.scaledIterations {
            let m = try SIPMessage(parsing: invite)
            let via = try m.topVia()
            let from = try m.from()
            let to = try m.to()
            let cseq = try m.cseq()
            let callID = m.callIDRange
            let contact = try m.firstContact()
            blackHole(via.branch)
            blackHole(from.tag(m.buffer))
            blackHole(to.uri)
            blackHole(cseq.number)
            blackHole(callID)
            blackHole(contact?.uri)
        }
    }

    // The parse alone (first line + header index).
    Benchmark("parse INVITE (header index only)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SIPMessage(parsing: invite).headers.count)
        }
    }
}
