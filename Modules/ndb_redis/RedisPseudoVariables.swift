import SwiftletSDK

extension NDBRedisModule {
    /// `$redis(name=>key)`: a field of the reply stored under `name` on this thread.
    var redisPV: PseudoVariableClass {
        PseudoVariableClass("redis") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let inner = pv.inner else { throw FixupError("$redis needs a name: $redis(r=>value)") }
            let path = try RedisReplyPath(parsing: inner, registry: pv.registry)
            return PseudoVariable(text: pv.text) { ctx in
                guard let reply = self.client.state.replies[path.reply] else { return .null }
                return path.value(reply, ctx)
            }
        }
    }

    /// `$redisd(rpl_str|rpl_arr|rpl_int|rpl_nil|rpl_sts|rpl_err)`: hiredis' reply type numbers.
    var redisdPV: PseudoVariableClass {
        PseudoVariableClass("redisd") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            let codes = ["rpl_str": 1, "rpl_arr": 2, "rpl_int": 3, "rpl_nil": 4, "rpl_sts": 5, "rpl_err": 6]
            guard let inner = pv.inner, let code = codes[inner] else {
                throw FixupError("unknown redisd name \(pv.inner ?? "")")
            }
            return PseudoVariable(text: pv.text) { _ in .int(code) }
        }
    }
}
