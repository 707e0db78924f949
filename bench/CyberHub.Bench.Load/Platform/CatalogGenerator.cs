using System.Text.Json;

namespace CyberHub.Bench.Load.Platform;

/// <summary>One generated catalog item, in the fields of the host's catalog format (topic and level become metadata).</summary>
public sealed record CatalogItem(int Index, string ContentType, string ContentId, string Title, string Description, string Topic, string Level, int DurationMinutes);

/// <summary>
/// A deterministic catalog of any size up to <see cref="Capacity"/>: item <c>i</c> is always the same item. Each is one
/// combination of topic × subject × angle × content type × level × audience, so no two share a title; the index is
/// spread over the combinations so that any prefix covers every topic, type and level. Wording comes from templates,
/// durations from a random generator seeded by the seed and the index.
/// </summary>
public sealed class CatalogGenerator(int seed)
{
    private static readonly (string Topic, (string Subject, string Tool)[] Subjects)[] Topics =
    [
        ("network-security", [("firewall rule design", "pfSense"), ("network segmentation", "VLANs and ACLs"), ("intrusion detection", "Suricata"), ("packet analysis", "Wireshark"), ("VPN hardening", "WireGuard"), ("wireless security", "WPA3 and 802.1X")]),
        ("web-security", [("SQL injection", "sqlmap"), ("cross-site scripting", "Burp Suite"), ("server-side request forgery", "Burp Collaborator"), ("broken authentication", "OWASP ZAP"), ("content security policy", "browser developer tools"), ("API security", "Postman")]),
        ("cryptography", [("AES modes of operation", "OpenSSL"), ("TLS handshakes", "Wireshark"), ("password hashing", "Argon2"), ("public key infrastructure", "step-ca"), ("digital signatures", "Ed25519 keys"), ("key management", "HashiCorp Vault")]),
        ("cloud-security", [("IAM least privilege", "AWS IAM Access Analyzer"), ("storage bucket exposure", "ScoutSuite"), ("Kubernetes RBAC", "kubectl"), ("container image scanning", "Trivy"), ("cloud audit logging", "CloudTrail"), ("infrastructure as code review", "Checkov")]),
        ("incident-response", [("alert triage", "TheHive"), ("memory forensics", "Volatility"), ("disk forensics", "Autopsy"), ("ransomware containment", "an EDR console"), ("timeline analysis", "Plaso"), ("post-incident reviews", "a runbook template")]),
        ("malware-analysis", [("static analysis of PE files", "PEStudio"), ("sandbox analysis", "CAPE"), ("reverse engineering", "Ghidra"), ("YARA rule writing", "YARA"), ("macro malware", "oletools"), ("unpacking", "x64dbg")]),
        ("threat-intelligence", [("MITRE ATT&CK mapping", "ATT&CK Navigator"), ("indicator enrichment", "MISP"), ("threat actor profiling", "OpenCTI"), ("dark web monitoring", "Tor Browser"), ("intelligence reporting", "STIX 2.1"), ("phishing campaign tracking", "urlscan.io")]),
        ("identity-and-access", [("multi-factor authentication", "FIDO2 security keys"), ("Active Directory attack paths", "BloodHound"), ("Kerberoasting", "Rubeus"), ("single sign-on with SAML", "a SAML tracer"), ("OAuth and OpenID Connect", "Keycloak"), ("privileged access management", "just-in-time access")]),
        ("penetration-testing", [("reconnaissance", "Nmap"), ("exploitation", "Metasploit"), ("Linux privilege escalation", "LinPEAS"), ("Windows privilege escalation", "WinPEAS"), ("pentest report writing", "Dradis"), ("pivoting through networks", "Chisel")]),
        ("secure-coding", [("input validation", "the OWASP ASVS"), ("dependency management", "Dependabot"), ("secrets in source code", "gitleaks"), ("static analysis", "Semgrep"), ("memory safety", "AddressSanitizer"), ("secure code review", "CodeQL")]),
        ("security-operations", [("SIEM detection rules", "Splunk"), ("log pipelines", "Elastic"), ("threat hunting", "Sigma rules"), ("endpoint telemetry", "osquery"), ("SOAR playbooks", "Shuffle"), ("alert fatigue", "detection metrics")]),
        ("governance-risk-compliance", [("risk assessment", "ISO 27005"), ("ISO 27001 controls", "a statement of applicability"), ("GDPR obligations", "a records-of-processing template"), ("security policy writing", "policy templates"), ("vendor risk", "security questionnaires"), ("audit preparation", "SOC 2 evidence lists")]),
        ("mobile-security", [("Android app analysis", "MobSF"), ("iOS app security", "Frida"), ("mobile device management", "Intune"), ("certificate pinning", "objection"), ("mobile malware", "apktool"), ("secure mobile storage", "the iOS Keychain")]),
        ("iot-security", [("firmware analysis", "binwalk"), ("hardware debug interfaces", "a UART adapter"), ("smart home protocols", "a Zigbee sniffer"), ("industrial control systems", "Modbus tooling"), ("OT network monitoring", "Zeek"), ("embedded device hardening", "Buildroot")]),
        ("social-engineering", [("phishing awareness", "GoPhish"), ("pretexting", "call scripts"), ("security culture", "an awareness programme"), ("business email compromise", "mail header analysis"), ("physical security", "badge readers"), ("deepfake fraud", "voice verification procedures")]),
        ("devsecops", [("CI/CD pipeline security", "GitHub Actions"), ("software supply chain security", "Sigstore"), ("software bills of materials", "Syft"), ("policy as code", "Open Policy Agent"), ("pipeline secrets management", "Vault agents"), ("container runtime security", "Falco")]),
    ];

    private static readonly (string Title, string Sentence)[] Angles =
    [
        ("Foundations of", "It explains the core ideas behind {0} and the vocabulary later material builds on."),
        ("A practical guide to", "It walks step by step through {0} as practitioners do it day to day."),
        ("Deep dive into", "It takes {0} apart in detail, including the edge cases that trip people up."),
        ("Hands-on", "Most of the time is spent doing {0} rather than reading about it."),
        ("Common mistakes in", "It collects the mistakes teams make with {0} and shows how to avoid each one."),
        ("Automating", "It shows how to script and automate {0} so it scales beyond one person."),
        ("Assessing", "It teaches how to assess and measure {0} in an existing environment."),
        ("Case studies in", "It retells real incidents where {0} decided the outcome."),
        ("Troubleshooting", "It works through broken setups of {0} and how to diagnose them."),
        ("Advanced techniques in", "It covers advanced techniques in {0} used by experienced specialists."),
    ];

    private static readonly (string Type, string Noun, string Intro, int MinMinutes, int MaxMinutes)[] Types =
    [
        ("course", "course", "A multi-week course", 300, 900),
        ("module", "module", "A course module", 90, 240),
        ("lesson", "lesson", "A lesson", 20, 60),
        ("lab", "lab", "A hands-on lab in a sandboxed environment", 45, 150),
        ("quiz", "quiz", "A quiz", 10, 30),
        ("challenge", "challenge", "A capture-the-flag style challenge", 30, 120),
        ("video", "video", "A video walkthrough", 8, 40),
        ("article", "article", "An article", 5, 25),
    ];

    private static readonly string[] Levels = ["beginner", "intermediate", "advanced", "expert"];

    private static readonly string[] Audiences =
    [
        "SOC analysts", "software developers", "system administrators", "cloud engineers", "students", "IT managers",
        "penetration testers", "incident responders", "small businesses", "healthcare teams", "financial services teams", "security champions",
    ];

    // Mixed radix over the six dimensions; the multiplier is prime and coprime to the product, so i -> combination is one to one.
    private const int Multiplier = 7919;
    public static readonly int Capacity = Topics.Length * 6 * Angles.Length * Types.Length * Levels.Length * Audiences.Length;

    public CatalogItem Item(int index)
    {
        var combination = (int)((long)index * Multiplier % Capacity);
        int Next(int radix)
        {
            var digit = combination % radix;
            combination /= radix;
            return digit;
        }
        var type = Types[Next(Types.Length)];
        var level = Levels[Next(Levels.Length)];
        var (topic, subjects) = Topics[Next(Topics.Length)];
        var (subject, tool) = subjects[Next(subjects.Length)];
        var angle = Angles[Next(Angles.Length)];
        var audience = Audiences[Next(Audiences.Length)];
        var random = new Random(unchecked(seed * 1_000_003 + index));
        var levelTitle = char.ToUpperInvariant(level[0]) + level[1..];
        var title = $"{levelTitle} {type.Noun}: {angle.Title} {subject} for {audience}";
        // Level and audience are in the title; the description stays at a catalog blurb's two or three sentences.
        var description = $"{type.Intro} on {subject}, part of the {topic.Replace('-', ' ')} track. " +
            string.Format(System.Globalization.CultureInfo.InvariantCulture, angle.Sentence, subject) +
            $" Learners work with {tool}.";
        return new CatalogItem(index, type.Type, $"{type.Type}-{topic}-{index:D6}", title, description, topic, level,
            random.Next(type.MinMinutes, type.MaxMinutes + 1));
    }

    /// <summary>Writes items <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive) as a catalog JSON file.</summary>
    public void WriteJson(string path, int from, int to)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartArray();
        for (var i = from; i < to; i++)
        {
            var item = Item(i);
            json.WriteStartObject();
            json.WriteString("content_type", item.ContentType);
            json.WriteString("content_id", item.ContentId);
            json.WriteString("title", item.Title);
            json.WriteString("description", item.Description);
            json.WriteString("topic", item.Topic);
            // The catalog knows three levels; "expert" is a fourth variant of the titles only.
            json.WriteString("level", item.Level == "expert" ? "advanced" : item.Level);
            json.WriteNumber("duration_minutes", item.DurationMinutes);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
