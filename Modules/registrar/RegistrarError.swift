/// registrar's reasons for the reply to a REGISTER (Kamailio's `rerrno` values, in their
/// order), with the status code and the `P-Registrar-Error` text of `reply.c`.
enum RegistrarError: Int {
    case fine = 0
    case usrlocDeleteRecord, usrlocGetRecord, usrlocNewRecord, invalidCSeq, usrlocInsertContact
    case usrlocInsertRecord, usrlocDeleteContact, usrlocUpdateContact, noToUser, aorTooLong, aorParse
    case invalidExpires, invalidQ, parse, toMissing, callIDMissing, cseqMissing, expiresParse, contactParse
    case starExpires, starContacts, outOfOrder, retransmission, unescape, tooMany, contactTooLong
    case callIDTooLong, pathParse, pathUnsupported, outboundUnsupported, outboundRequired
    case outboundUnsupportedEdge, invalidRegID, expiresTooLow

    /// The reply's status code (Kamailio's `codes[]`).
    var code: Int {
        switch self {
        case .fine, .outOfOrder, .retransmission: 200
        case .usrlocDeleteRecord, .usrlocGetRecord, .usrlocNewRecord, .usrlocInsertContact, .usrlocInsertRecord,
            .usrlocDeleteContact, .usrlocUpdateContact, .aorTooLong:
            500
        case .tooMany: 503
        case .pathUnsupported, .outboundRequired: 420
        case .outboundUnsupported: 421
        case .outboundUnsupportedEdge: 439
        case .expiresTooLow: 423
        default: 400
        }
    }

    /// The reason phrase for `code`.
    var reason: String {
        switch code {
        case 200: "OK"
        case 420: "Bad Extension"
        case 421: "Extension Required"
        case 423: "Interval Too Brief"
        case 439: "First Hop Lacks Outbound Support"
        case 500: "Server Internal Error"
        case 503: "Service Unavailable"
        default: "Bad Request"
        }
    }

    /// The `P-Registrar-Error` text (Kamailio's `error_info[]`).
    var info: String {
        switch self {
        case .fine: "No problem"
        case .usrlocDeleteRecord: "usrloc_record_delete failed"
        case .usrlocGetRecord: "usrloc_record_get failed"
        case .usrlocNewRecord: "usrloc_record_new failed"
        case .invalidCSeq: "Invalid CSeq number"
        case .usrlocInsertContact: "usrloc_contact_insert failed"
        case .usrlocInsertRecord: "usrloc_record_insert failed"
        case .usrlocDeleteContact: "usrloc_contact_delete failed"
        case .usrlocUpdateContact: "usrloc_contact_update failed"
        case .noToUser: "No username in To URI"
        case .aorTooLong: "Address Of Record too long"
        case .aorParse: "Error while parsing AOR"
        case .invalidExpires: "Invalid expires param in contact"
        case .invalidQ: "Invalid q param in contact"
        case .parse: "Message parse error"
        case .toMissing: "To header not found"
        case .callIDMissing: "Call-ID header not found"
        case .cseqMissing: "CSeq header not found"
        case .expiresParse: "Expires parse error"
        case .contactParse: "Contact parse error"
        case .starExpires: "* used in contact and expires is not zero"
        case .starContacts: "* used in contact and more than 1 contact"
        case .outOfOrder: "Out of order request"
        case .retransmission: "Retransmission"
        case .unescape: "Error while unescaping username"
        case .tooMany: "Too many registered contacts"
        case .contactTooLong: "Contact/received too long"
        case .callIDTooLong: "Callid too long"
        case .pathParse: "Path parse error"
        case .pathUnsupported: "No support for found Path indicated"
        case .outboundUnsupported: "No support for Outbound indicated"
        case .outboundRequired: "No support for Outbound on server"
        case .outboundUnsupportedEdge: "No support for Outbound on edge proxy"
        case .invalidRegID: "Invalid Reg-Id number"
        case .expiresTooLow: "Interval too brief"
        }
    }
}

/// A registrar step that failed with its reason.
struct RegistrarFailure: Error {
    let reason: RegistrarError
    init(_ reason: RegistrarError) { self.reason = reason }
}
