import Testing

@testable import SwiftletSDK

/// The virtual clock that timer-driven tests (tm's retransmissions) run on.
@Suite struct VirtualClockTests {
    @Test func timersRunWhenTheClockReachesThemAndNotBefore() {
        let clock = VirtualClock()
        var fired: [Int] = []
        clock.after(milliseconds: 500) { fired.append(clock.elapsedMilliseconds) }
        clock.advance(milliseconds: 499)
        #expect(fired.isEmpty)
        clock.advance(milliseconds: 1)
        #expect(fired == [500])
        #expect(clock.pendingCount == 0)
    }

    /// RFC 3261's timer A/E pattern: T1, 2T1, 4T1, ... capped at T2, as tm will schedule it.
    @Test func retransmissionIntervalsDoubleUpToT2() {
        let clock = VirtualClock()
        var at: [Int] = []
        var interval = 500
        clock.schedule(afterMilliseconds: 500, name: "retr") {
            at.append(clock.elapsedMilliseconds)
            interval = min(interval * 2, 4000)
            return at.count < 6 ? .after(milliseconds: interval) : .stop
        }
        for _ in 0..<20_000 / 125 { clock.advance(milliseconds: 125) }
        #expect(at == [500, 1500, 3500, 7500, 11500, 15500])
    }

    @Test func aCancelledTimerNeverRuns() {
        let clock = VirtualClock()
        var ran = false
        let t = clock.after(milliseconds: 1000) { ran = true }
        clock.advance(milliseconds: 600)
        #expect(t.cancel())
        clock.advance(milliseconds: 10_000)
        #expect(!ran)
    }
}
