import StethoscopeCore

/// The shipped steps that turn a practice green, per platform. `notify.instructions.<practice>.<platform|all>`
/// replaces them; a practice without steps for a platform falls back to its `all` steps, then to its
/// description and link.
public enum Instructions {
    public static let shipped: [String: [String: [String]]] = [
        "encryption": [
            "Mac": [
                "Open System Settings > Privacy & Security > FileVault.",
                "Click Turn On, and keep the recovery key where IT asks you to (your company account).",
                "Leave the Mac plugged in: encryption finishes in the background."
            ],
            "Windows": [
                "Open Settings > Privacy & security > Device encryption (or Control Panel > BitLocker Drive Encryption).",
                "Turn on BitLocker for the system drive (C:) and back up the recovery key to your work account.",
                "Restart when asked; encryption finishes in the background."
            ],
            "Linux": [
                "Full-disk encryption (LUKS) is chosen when the system is installed.",
                "Back up your data and ask IT to reinstall the device with encryption on."
            ],
            "iOS": ["Set a passcode in Settings > Face ID & Passcode (or Touch ID & Passcode): it turns on data protection."],
            "Android": [
                "Set a screen lock PIN or password in Settings > Security.",
                "On older devices, also turn on Settings > Security > Encrypt phone."
            ],
            "ChromeOS": ["Chromebooks are encrypted by default; sign in with your work account and restart to finish."]
        ],
        "os_version": [
            "Mac": ["Open System Settings > General > Software Update.", "Install every update offered and restart."],
            "Windows": ["Open Settings > Windows Update.", "Click Check for updates, install everything offered and restart."],
            "iOS": ["Open Settings > General > Software Update.", "Install the latest iOS version (plug in and use Wi-Fi)."],
            "Android": ["Open Settings > System > Software update (the name varies by maker).", "Install the latest update and restart."],
            "ChromeOS": ["Open Settings > About ChromeOS.", "Click Check for updates and restart."],
            "Linux": ["Install your distribution's updates (e.g. sudo apt update && sudo apt full-upgrade) and reboot."]
        ],
        "screen_lock": [
            "Mac": [
                "Open System Settings > Lock Screen.",
                "Set \"Require password after screen saver begins or display is turned off\" to 5 minutes or less."
            ],
            "Windows": [
                "Open Settings > Accounts > Sign-in options and require sign-in when you return.",
                "Set the screen to turn off after 5 minutes in Settings > System > Power."
            ],
            "Linux": ["Turn on automatic screen lock in your desktop's Privacy or Screen Lock settings (5 minutes or less)."],
            "iOS": ["Set a passcode in Settings > Face ID & Passcode.", "Set Settings > Display & Brightness > Auto-Lock to 5 minutes or less."],
            "Android": ["Open Settings > Security > Screen lock.", "Choose a PIN, password or pattern (not Swipe or None)."],
            "ChromeOS": ["Open Settings > Security and privacy > Lock screen and turn on \"Show lock screen when waking from sleep\"."]
        ],
        "firewall": [
            "Mac": ["Open System Settings > Network > Firewall.", "Turn the firewall on."],
            "Windows": ["Open Windows Security > Firewall & network protection.", "Turn Microsoft Defender Firewall on for every network."],
            "Linux": ["Turn on the host firewall, e.g. sudo ufw enable (Ubuntu) or sudo systemctl enable --now firewalld."]
        ],
        "auto_updates": [
            "Mac": [
                "Open System Settings > General > Software Update > Automatic updates.",
                "Turn on \"Install Security Responses and system files\" and \"Install macOS updates\"."
            ],
            "Windows": ["Open Settings > Windows Update > Advanced options.", "Turn on automatic updates; do not pause them."],
            "Linux": ["Turn on unattended security updates (e.g. sudo dpkg-reconfigure unattended-upgrades)."]
        ],
        "remote_login": [
            "Mac": ["Open System Settings > General > Sharing.", "Turn off Remote Login and Remote Management unless IT asked for them."],
            "Windows": ["Open Settings > System > Remote Desktop.", "Turn Remote Desktop off unless IT asked for it."],
            "Linux": ["Stop the SSH server if you do not need it: sudo systemctl disable --now ssh."]
        ],
        "jailbreak": [
            "all": [
                "A jailbroken or rooted phone cannot keep work data safe.",
                "Restore the official system software (or ask IT for help), or stop using it for work."
            ]
        ],
        "unknown_sources": [
            "Android": ["Open Settings > Apps > Special app access > Install unknown apps.", "Turn it off for every app."]
        ],
        "adb": [
            "Android": ["Open Settings > System > Developer options.", "Turn off USB debugging."]
        ],
        "developer_options": [
            "Android": ["Open Settings > System > Developer options.", "Turn the switch at the top off."]
        ],
        "verified_boot": [
            "ChromeOS": ["The Chromebook is in developer mode. Back up your files and ask IT to restore it (turning developer mode off erases it)."]
        ],
        "carbon_black": [
            "all": [
                "Install (or update) the Carbon Black sensor from the company software portal (Self Service or Company Portal).",
                "If it is installed, restart the device; ask IT if it still shows as missing tomorrow."
            ]
        ],
        "sentinelone": [
            "all": ["Install the SentinelOne agent from the company software portal.", "Restart the device once it is installed."]
        ]
    ]

    /// The steps for `practice` on `platform`: the config's, else the shipped ones; platform first, then `all`.
    public static func steps(practice: String, platform: String?, overrides: [String: [String: [String]]]) -> [String] {
        for table in [overrides[practice], shipped[practice]] {
            guard let table else { continue }
            if let platform, let steps = table[platform] { return steps }
            if let steps = table["all"] { return steps }
        }
        return []
    }
}
