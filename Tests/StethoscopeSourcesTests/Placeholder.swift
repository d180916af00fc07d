import Testing
@Test func placeholderStethoscopeSourcesTests() { #expect(1 == 1) }
