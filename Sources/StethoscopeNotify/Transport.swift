import Foundation
import StethoscopeCore

/// One message ready for delivery: the envelope and the full RFC 5322 bytes (CRLF line ends, no line over
/// 998 octets, no bare CR or LF; a line starting with "." is the transport's to dot-stuff).
public struct OutgoingMail: Sendable, Equatable {
    /// The Message-ID header's value, without angle brackets (also the ledger's key to the message).
    public var messageID: String
    /// The envelope sender (MAIL FROM), a bare address.
    public var from: String
    /// The envelope recipients (RCPT TO), bare addresses: the person, and the manager when copied.
    public var recipients: [String]
    public var data: [UInt8]

    public init(messageID: String, from: String, recipients: [String], data: [UInt8]) {
        self.messageID = messageID
        self.from = from
        self.recipients = recipients
        self.data = data
    }
}

/// What became of one message.
public enum MailOutcome: Sendable, Equatable {
    /// Accepted (end of DATA answered 2xx) for every recipient except those in `refused` (address → the
    /// server's permanent reason, e.g. a 550 on RCPT for the manager copied).
    case sent(refused: [String: String])
    /// Not accepted, and nothing was delivered (4xx, connection refused or lost before the end of DATA, AUTH
    /// temporarily failing): safe to send again later.
    case temporaryFailure(reason: String)
    /// Refused for good (5xx for the message or every recipient, 535 AUTH): never retried.
    case permanentFailure(reason: String)
    /// Handed over, but no answer to the end of DATA (the connection broke after the final "."): it may have
    /// been delivered, so it is never sent again automatically.
    case unconfirmed(reason: String)
}

/// How notify delivers messages. The SMTP transport (StethoscopeHTTP) and the dry run implement it.
/// `send` answers one outcome per mail, in order; it never throws: a transport that cannot connect answers
/// `temporaryFailure` (or `permanentFailure` for refused credentials) for every mail.
public protocol MailTransport: Sendable {
    func send(_ mails: [OutgoingMail]) async -> [MailOutcome]
}

/// `--dry-run --out DIR`: writes each message as `DIR/NNNN-<recipient>.eml`, sends nothing.
public final class DryRunTransport: MailTransport, Sendable {
    public let out: URL
    private let written = Locked<[URL]>([])

    public init(out: URL) throws {
        self.out = out
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        DryRunTransport.removeEarlier(in: out)
    }

    /// Files an earlier dry run wrote (`NNNN-….eml`, `NNNN.html`, `index.html`): a smaller night must not leave
    /// the bigger one's messages behind. Nothing else in the folder is touched.
    static func removeEarlier(in out: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        for name in names {
            let digits = name.prefix(4).allSatisfy(\.isNumber) && name.count > 4
            let ours =
                name == "index.html" || (digits && name.hasSuffix(".eml") && name.dropFirst(4).first == "-")
                || (digits && name.count == 9 && name.hasSuffix(".html"))
            if ours { try? FileManager.default.removeItem(at: out.appendingPathComponent(name)) }
        }
    }

    /// The `.eml` files written so far, in order.
    public var files: [URL] { written.withLock { $0 } }

    public func send(_ mails: [OutgoingMail]) async -> [MailOutcome] {
        mails.map { mail in
            let n = written.withLock { $0.count + 1 }
            let safe = (mail.recipients.first ?? "message").map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
            let file = out.appendingPathComponent(String(format: "%04d-", n) + String(safe) + ".eml")
            do {
                try Data(mail.data).write(to: file, options: .atomic)
                written.withLock { $0.append(file) }
                return .sent(refused: [:])
            } catch {
                return .permanentFailure(reason: "cannot write \(file.path): \(error.localizedDescription)")
            }
        }
    }
}
