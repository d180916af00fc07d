extension Duration {
    /// The duration in seconds, with the fraction (`Duration` itself has no such accessor).
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
