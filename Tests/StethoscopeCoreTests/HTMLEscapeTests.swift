import StethoscopeCore
import Testing

/// The one HTML escaping function, shared by the report's pages and notify's messages.
@Suite struct HTMLEscapeTests {
    @Test func entitiesAreEscaped() {
        #expect(HTML.escape(#"<a href="x">Tom & Jerry's</a>"#) == "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;")
    }

    @Test func plainTextComesBackUnchanged() {
        for text in ["", "MacBook Pro", "Zoë\u{301} Mac — 2 €", "日本語のデバイス", "line\nbreak\tand tab"] {
            #expect(HTML.escape(text) == text)
        }
    }

    /// Control characters are not allowed in HTML text; a device name may carry any. C0, DEL and C1 become spaces,
    /// line feed and tab stay; characters next to a C1 control's lead byte (U+00A0–U+00BF) are not controls.
    @Test func controlCharactersBecomeSpaces() {
        #expect(HTML.escape("a\u{0}b\u{1B}[31mc\r\u{7F}d") == "a b [31mc  d")
        #expect(HTML.escape("x\u{85}y\u{9F}z") == "x y z")
        #expect(HTML.escape("\u{A0}©°«»\u{BF}") == "\u{A0}©°«»\u{BF}")
        #expect(HTML.escape("<\u{1}>") == "&lt; &gt;")
    }
}
