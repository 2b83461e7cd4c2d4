import Testing

@testable import SwiftletSDK

/// `TimerScheduling.recycle`: a target's timer handle given back is stopped, lets go of its
/// target, and is handed out again by the next `schedule(…target:…)` (tm's branch timers when
/// a transaction ends); a handle someone else still holds, or a closure's, is not.
@Suite struct TimerRecycleTests {
    final class Recorder: TimerTarget {
        var fired: [Int] = []
        func timerFired(_ event: Int) -> TimerNext {
            fired.append(event)
            return .stop
        }
    }

    @Test func aRecycledHandleIsStoppedAndServesTheNextTargetTimer() {
        let clock = VirtualClock()
        var first: Recorder? = Recorder()
        weak var firstGone = first
        var handle: TimerHandle? = clock.schedule(afterMilliseconds: 500, name: "a", target: first!, event: 1)
        let address = ObjectIdentifier(handle!)
        clock.recycle(&handle)
        #expect(handle == nil)
        #expect(clock.pendingCount == 0)
        first = nil
        #expect(firstGone == nil)  // the handle let go of its target
        let second = Recorder()
        let next = clock.schedule(afterMilliseconds: 250, name: "b", target: second, event: 2)
        #expect(ObjectIdentifier(next) == address)
        #expect(next.name == "b")
        clock.advance(milliseconds: 1000)
        #expect(second.fired == [2])
        #expect(clock.pendingCount == 0)
    }

    @Test func aHandleHeldElsewhereOrRunningIsNotReused() {
        let clock = VirtualClock()
        let r = Recorder()
        var handle: TimerHandle? = clock.schedule(afterMilliseconds: 500, name: "a", target: r, event: 1)
        let kept = handle!
        clock.recycle(&handle)
        #expect(!kept.isPending)
        let next = clock.schedule(afterMilliseconds: 250, name: "b", target: r, event: 2)
        #expect(next !== kept)
        var closure: TimerHandle? = clock.after(milliseconds: 125, name: "c") {}
        weak var closureGone = closure
        clock.recycle(&closure)
        #expect(closureGone == nil)  // freed, not kept
        clock.advance(milliseconds: 1000)
        #expect(r.fired == [2])
        #expect(clock.pendingCount == 0)
    }

    /// A target whose last reference the recycled handle held: freed after the service's lock
    /// is let go of, so that its `deinit` may stop timers of its own (a transaction's).
    final class TimerOwner: TimerTarget {
        let clock: VirtualClock
        var own: TimerHandle?
        init(clock: VirtualClock) { self.clock = clock }
        func timerFired(_ event: Int) -> TimerNext { .stop }
        deinit { clock.recycle(&own) }
    }

    @Test func theTargetIsFreedOutsideTheLockAndTheHandleComesBackClean() {
        let clock = VirtualClock()
        var owner: TimerOwner? = TimerOwner(clock: clock)
        weak var ownerGone = owner
        owner!.own = clock.schedule(afterMilliseconds: 500, name: "own", target: Recorder(), event: 1)
        var handle: TimerHandle? = clock.schedule(afterMilliseconds: 500, name: "a", target: owner!, event: 1)
        owner = nil
        #expect(clock.pendingCount == 2)
        clock.recycle(&handle)  // frees the owner, whose deinit recycles its own timer
        #expect(ownerGone == nil)
        #expect(clock.pendingCount == 0)
        // Both handles were kept: each comes back stopped, without a target, set anew.
        let r = Recorder()
        let first = clock.schedule(afterMilliseconds: 125, name: "b", target: r, event: 2)
        let second = clock.schedule(afterMilliseconds: 250, name: "c", target: r, event: 3)
        #expect(first !== second)
        #expect(first.name == "b" && second.name == "c")
        clock.advance(milliseconds: 1000)
        #expect(r.fired == [2, 3])
        #expect(clock.pendingCount == 0)
    }
}
