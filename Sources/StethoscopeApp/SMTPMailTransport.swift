import StethoscopeCore
import StethoscopeHTTP
import StethoscopeNotify

/// Notify's `MailTransport` over StethoscopeHTTP's SMTP client: `notify.smtp` settings become an `SMTPConfig`,
/// and each message's per-recipient SMTP answers become the one outcome the ledger records.
struct SMTPMailTransport: MailTransport {
    let transport: SMTPTransport

    /// Refuses settings the SMTP client calls unsafe (a password over optional STARTTLS, credentials in the URL).
    init(_ settings: NotifyConfig.SMTPSettings) throws {
        let config = Self.config(settings)
        if let problem = config.problem() { throw ConfigError(path: "notify.smtp.\(problem.key)", message: problem.message) }
        transport = SMTPTransport(config)
    }

    static func config(_ s: NotifyConfig.SMTPSettings) -> SMTPConfig {
        SMTPConfig(
            url: s.url, starttls: SMTPConfig.StartTLS(rawValue: s.startTLS) ?? .required, username: s.username,
            password: s.password, caFile: s.caFile?.path, timeout: s.timeoutSeconds,
            maxConnections: s.maxConnections, ratePerMinute: s.ratePerMinute)
    }

    func send(_ mails: [OutgoingMail]) async -> [MailOutcome] {
        let results = await transport.send(
            mails.map {
                SMTPMessage(id: $0.messageID, from: $0.from, recipients: $0.recipients, data: $0.data)
            })
        return results.map(Self.outcome)
    }

    /// Sent when at least one recipient accepted it (the others, refused for good, are listed); otherwise a
    /// temporary answer wins over a permanent one, so a message is given up only when every recipient refused it.
    /// A connection lost after the whole message went out may have delivered it: that is `unconfirmed`, never
    /// sent again (README, "Nudges").
    static func outcome(_ r: SMTPResult) -> MailOutcome {
        var refused: [String: String] = [:]
        var temporary: [String] = []
        var sent = false
        for (address, o) in r.recipients {
            switch o {
            case .sent: sent = true
            case .permanent(let why): refused[address] = why
            case .temporary(let why): temporary.append(why)
            }
        }
        if sent { return .sent(refused: refused) }
        if let why = temporary.first {
            return why.contains("may deliver it twice") ? .unconfirmed(reason: why) : .temporaryFailure(reason: why)
        }
        return .permanentFailure(reason: refused.values.sorted().first ?? "refused")
    }
}
