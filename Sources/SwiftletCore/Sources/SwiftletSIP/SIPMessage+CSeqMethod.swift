extension SIPMessage {
    /// The CSeq method when the CSeq header is there and parses and its method is a known one;
    /// nil otherwise. `(try? cseq())?.method` for the known methods, without making the
    /// header's value (or the text of an unknown method): the receive path counts every reply
    /// by its CSeq method.
    public var knownCSeqMethod: SIPMethod? {
        guard let field = firstHeader(.cseq) else { return nil }
        return CSeqHeader.knownMethod(buffer, field.valueRange)
    }
}
