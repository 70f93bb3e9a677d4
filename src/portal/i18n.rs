//! The public portal's languages: English, French, Portuguese, Russian, Arabic (right to left)
//! and Chinese (Simplified). This file holds the message catalog of each language, the names of
//! the Kimberley Process participants in each language, the choice of a language from an
//! `Accept-Language` header and the grouping of digits in amounts and counts. It is data and a
//! little pure logic: no I/O, no allocation beyond the strings it returns, and nothing in it
//! panics on any input.

/// A language of the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English, the language of the ledger and the fallback.
    En,
    /// French.
    Fr,
    /// Portuguese.
    Pt,
    /// Russian.
    Ru,
    /// Arabic, written right to left.
    Ar,
    /// Chinese, in simplified characters.
    Zh,
}

/// Longest `Accept-Language` value looked at, in bytes; a longer one gets English.
const MAX_ACCEPT_LANGUAGE_BYTES: usize = 1000;

/// Most comma-separated parts of an `Accept-Language` value looked at.
const MAX_ACCEPT_LANGUAGE_PARTS: usize = 32;

/// Optional white space of HTTP (RFC 9110 section 5.6.3).
const OWS: [char; 2] = [' ', '\t'];

impl Lang {
    /// Every language of the portal, English first.
    pub const ALL: [Lang; 6] = [Lang::En, Lang::Fr, Lang::Pt, Lang::Ru, Lang::Ar, Lang::Zh];

    /// The ISO 639-1 code: "en", "fr", "pt", "ru", "ar" or "zh" (for the `lang` attribute and
    /// the `?lang=` parameter).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Pt => "pt",
            Lang::Ru => "ru",
            Lang::Ar => "ar",
            Lang::Zh => "zh",
        }
    }

    /// The language of a code or a language tag, by its primary subtag and ignoring case:
    /// "fr", "FR", "pt-BR" and "zh-Hans-CN" are all understood. None for anything else,
    /// including a tag that is not well formed (each subtag 1 to 8 letters or digits, the
    /// first letters only, joined by '-').
    pub fn parse(s: &str) -> Option<Lang> {
        let primary = primary_subtag(s)?;
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(primary))
    }

    /// Picks the language from an Accept-Language header value (RFC 9110 section 12.5.4):
    /// the highest q wins, ties go to the earliest; q=0 excludes a range; a range matches by
    /// its primary subtag ("fr-CA" is French, "zh-Hans-CN" Chinese, "pt-BR" Portuguese); "*"
    /// is English; malformed parts are skipped. No header, or nothing matching, gives English.
    /// The work is bounded: only the first 32 comma-separated parts are looked at, and a value
    /// longer than 1000 bytes gives English.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(header) = accept_language else {
            return Lang::En;
        };
        if header.len() > MAX_ACCEPT_LANGUAGE_BYTES {
            return Lang::En;
        }
        let mut best: Option<(Lang, u16)> = None;
        for part in header.split(',').take(MAX_ACCEPT_LANGUAGE_PARTS) {
            let Some((range, q)) = parse_accept_part(part) else {
                continue;
            };
            if q == 0 {
                continue;
            }
            let lang = if range == "*" {
                Lang::En
            } else {
                match Lang::parse(range) {
                    Some(lang) => lang,
                    None => continue,
                }
            };
            if best.is_none_or(|(_, best_q)| q > best_q) {
                best = Some((lang, q));
            }
        }
        best.map_or(Lang::En, |(lang, _)| lang)
    }

    /// The direction of writing, for the `dir` attribute: "rtl" for Arabic, "ltr" otherwise.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            Lang::En | Lang::Fr | Lang::Pt | Lang::Ru | Lang::Zh => "ltr",
        }
    }

    /// The language's name in the language itself, for the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Pt => "Português",
            Lang::Ru => "Русский",
            Lang::Ar => "العربية",
            Lang::Zh => "中文",
        }
    }

    /// The message catalog of this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
            Lang::Pt => &PT,
            Lang::Ru => &RU,
            Lang::Ar => &AR,
            Lang::Zh => &ZH,
        }
    }

    /// The participant's name in this language; None for a code that is not a participant's
    /// (the participants are those of data/participants.csv).
    ///
    /// The code is the participant's code in the ledger (ISO 3166-1 alpha-2, "EU" for the
    /// European Union, "TW" for Chinese Taipei), in either case.
    pub fn country(self, code: &str) -> Option<&'static str> {
        COUNTRIES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(code))
            .map(|(_, names)| names[self.index()])
    }

    /// Groups a plain decimal string for reading: input like "1234567.89", "-1234.5", "0.00",
    /// "12" (ASCII digits, optional leading '-', optional '.' fraction). Output: English and
    /// Chinese "1,234,567.89"; French "1 234 567,89" with U+202F NARROW NO-BREAK SPACE between
    /// groups and ',' before the fraction; Portuguese "1.234.567,89"; Russian "1 234 567,89"
    /// with U+00A0 NO-BREAK SPACE; Arabic "1,234,567.89" (Western digits, which officers and
    /// the ledger use). Groups of 3 from the right in the integer part only. Anything not
    /// matching the input shape is returned unchanged.
    ///
    /// In right-to-left text a leading '-' may be displayed on the wrong side: the page should
    /// isolate numbers (`<bdi>` or `dir="ltr"`).
    pub fn group(self, amount: &str) -> String {
        let (negative, unsigned) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount),
        };
        let (int, frac) = match unsigned.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return amount.to_owned();
        }
        let (separator, decimal) = self.separators();
        let mut out = String::with_capacity(amount.len() + int.len() / 3 * separator.len_utf8());
        if negative {
            out.push('-');
        }
        for (i, digit) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(separator);
            }
            out.push(digit);
        }
        if let Some(frac) = frac {
            out.push(decimal);
            out.push_str(frac);
        }
        out
    }

    /// Same as [`Lang::group`] for an integer count: 1234567 is "1,234,567" in English.
    pub fn group_int(self, n: u64) -> String {
        self.group(&n.to_string())
    }

    /// The separator between groups of digits and the decimal separator.
    fn separators(self) -> (char, char) {
        match self {
            Lang::En | Lang::Ar | Lang::Zh => (',', '.'),
            Lang::Fr => ('\u{202f}', ','),
            Lang::Pt => ('.', ','),
            Lang::Ru => ('\u{a0}', ','),
        }
    }

    /// The position of the language in [`Lang::ALL`] and in each row of the country names.
    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Fr => 1,
            Lang::Pt => 2,
            Lang::Ru => 3,
            Lang::Ar => 4,
            Lang::Zh => 5,
        }
    }
}

/// The primary subtag of a well-formed language tag or range (RFC 4647 section 2.1: 1 to 8
/// letters, then any number of '-' and 1 to 8 letters or digits); None if it is not well
/// formed. "*" is not a tag here.
fn primary_subtag(tag: &str) -> Option<&str> {
    let mut subtags = tag.split('-');
    let primary = subtags.next()?;
    let well_formed = |s: &str, allowed: fn(&u8) -> bool| {
        (1..=8).contains(&s.len()) && s.as_bytes().iter().all(allowed)
    };
    if !well_formed(primary, u8::is_ascii_alphabetic) {
        return None;
    }
    if !subtags.all(|s| well_formed(s, u8::is_ascii_alphanumeric)) {
        return None;
    }
    Some(primary)
}

/// One element of an `Accept-Language` list: the language range and its weight in thousandths
/// (1000 when absent). None when it is empty or malformed.
fn parse_accept_part(part: &str) -> Option<(&str, u16)> {
    let mut pieces = part.split(';');
    let range = pieces.next()?.trim_matches(OWS);
    if range != "*" {
        primary_subtag(range)?;
    }
    let q = match pieces.next() {
        None => 1000,
        Some(weight) => {
            let weight = weight.trim_matches(OWS);
            let value = weight
                .strip_prefix("q=")
                .or_else(|| weight.strip_prefix("Q="))?;
            parse_qvalue(value)?
        }
    };
    if pieces.next().is_some() {
        return None;
    }
    Some((range, q))
}

/// A qvalue (RFC 9110 section 12.4.2: "0" to "1" with at most three decimals) in thousandths.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match int {
        "0" => {
            let mut thousandths = 0u16;
            for i in 0..3 {
                let digit = frac.as_bytes().get(i).map_or(0, |b| u16::from(b - b'0'));
                thousandths = thousandths * 10 + digit;
            }
            Some(thousandths)
        }
        "1" if frac.bytes().all(|b| b == b'0') => Some(1000),
        _ => None,
    }
}

/// The messages of the portal in one language. There are no placeholders: numbers, dates and
/// names are put next to a message, never inside it.
#[derive(Debug)]
pub struct Texts {
    /// The site's name, in the header and every page title.
    pub site_title: &'static str,
    /// Menu: the home page.
    pub nav_home: &'static str,
    /// Menu: the participants and their standing.
    pub nav_participants: &'static str,
    /// Menu: the trade statistics.
    pub nav_statistics: &'static str,
    /// Menu: the state of the ledger.
    pub nav_ledger: &'static str,
    /// Menu: the verification page.
    pub nav_verify: &'static str,
    /// Menu: the public documents.
    pub nav_documents: &'static str,
    /// Label of the language menu.
    pub language: &'static str,
    /// Heading of the home page.
    pub home_title: &'static str,
    /// Home page: what the Certification Scheme does.
    pub home_scheme: &'static str,
    /// Home page: what the ledger records and guarantees.
    pub home_ledger: &'static str,
    /// Home page: what stays confidential and what is public.
    pub home_privacy: &'static str,
    /// Home page: how customs officers check a certificate.
    pub home_verify: &'static str,
    /// Heading of the participants page.
    pub participants_title: &'static str,
    /// Column: the participant.
    pub participant: &'static str,
    /// Column: the participant's region.
    pub region: &'static str,
    /// Column: the participant's status.
    pub status: &'static str,
    /// Column: the date since which the status holds.
    pub since: &'static str,
    /// Column: the decision that set the status.
    pub decision: &'static str,
    /// Heading of a participant's past decisions.
    pub history: &'static str,
    /// Label: the date from which a decision takes effect.
    pub effective: &'static str,
    /// Status: active participant.
    pub status_active: &'static str,
    /// Status: suspended by the Kimberley Process.
    pub status_suspended: &'static str,
    /// Status: suspended by the participant itself.
    pub status_self_suspended: &'static str,
    /// Status: suspended for part of its territory or trade.
    pub status_partially_suspended: &'static str,
    /// Status: removed from the Kimberley Process.
    pub status_removed: &'static str,
    /// Status: has applied to join.
    pub status_applicant: &'static str,
    /// The participant may trade rough diamonds under the Scheme.
    pub may_trade: &'static str,
    /// The participant may not trade rough diamonds under the Scheme.
    pub may_not_trade: &'static str,
    /// Yes.
    pub yes: &'static str,
    /// No.
    pub no: &'static str,
    /// Heading of the statistics page.
    pub statistics_title: &'static str,
    /// Statistics page: how the totals are computed.
    pub statistics_intro: &'static str,
    /// Column: the year.
    pub year: &'static str,
    /// Column: declared production.
    pub production: &'static str,
    /// Column: exports.
    pub exports: &'static str,
    /// Column: imports.
    pub imports: &'static str,
    /// Column: weight in carats.
    pub carats: &'static str,
    /// Column: value in United States dollars.
    pub value_usd: &'static str,
    /// Column: number of certificates.
    pub certificates: &'static str,
    /// Row: the total.
    pub total: &'static str,
    /// Caption of the chart of exports by participant.
    pub chart_exports: &'static str,
    /// Caption of the chart of exports by year.
    pub chart_years: &'static str,
    /// An empty table or chart.
    pub no_data: &'static str,
    /// Heading of the ledger page.
    pub ledger_title: &'static str,
    /// Label: the number of ledger entries.
    pub entries: &'static str,
    /// Heading: the latest signed checkpoint of the ledger.
    pub latest_checkpoint: &'static str,
    /// Label: the Merkle root hash of a checkpoint.
    pub root_hash: &'static str,
    /// Label: when a checkpoint was signed.
    pub signed_at: &'static str,
    /// Heading: the latest recorded audit.
    pub last_audit: &'static str,
    /// Label: who performed an audit.
    pub audited_by: &'static str,
    /// No audit recorded.
    pub never_audited: &'static str,
    /// How anyone can audit the ledger.
    pub audit_how: &'static str,
    /// Heading of the verification page.
    pub verify_title: &'static str,
    /// Verification page: what to enter.
    pub verify_help: &'static str,
    /// Label of the certificate number field.
    pub verify_number: &'static str,
    /// The verification form's button.
    pub verify_button: &'static str,
    /// Label: the outcome of a verification.
    pub verdict: &'static str,
    /// Verdict: valid.
    pub verdict_valid: &'static str,
    /// What to do with a valid certificate.
    pub verdict_valid_advice: &'static str,
    /// Verdict: the issuing participant was suspended.
    pub verdict_issuer_suspended: &'static str,
    /// What to do when the issuer was suspended.
    pub verdict_issuer_suspended_advice: &'static str,
    /// Verdict: voided by its issuer.
    pub verdict_void: &'static str,
    /// What to do with a void certificate.
    pub verdict_void_advice: &'static str,
    /// Verdict: already used for an import.
    pub verdict_imported: &'static str,
    /// What to do with a certificate already used for an import.
    pub verdict_imported_advice: &'static str,
    /// Verdict: past its date of expiry.
    pub verdict_expired: &'static str,
    /// What to do with an expired certificate.
    pub verdict_expired_advice: &'static str,
    /// Verdict: the seal does not match the record.
    pub verdict_forged: &'static str,
    /// What to do with a forged seal.
    pub verdict_forged_advice: &'static str,
    /// Verdict: signed with a revoked key.
    pub verdict_key_revoked: &'static str,
    /// What to do when the signing key was revoked.
    pub verdict_key_revoked_advice: &'static str,
    /// Verdict: validly signed but never recorded.
    pub verdict_not_in_ledger: &'static str,
    /// What to do with a certificate missing from the ledger.
    pub verdict_not_in_ledger_advice: &'static str,
    /// Verdict: the scanned code is not a KP seal.
    pub verdict_malformed: &'static str,
    /// What to do when the code is not a KP seal.
    pub verdict_malformed_advice: &'static str,
    /// Verdict: no certificate with this number.
    pub verdict_unknown: &'static str,
    /// What to do when no certificate has this number.
    pub verdict_unknown_advice: &'static str,
    /// Heading: a certificate.
    pub certificate: &'static str,
    /// Label: the issuing authority.
    pub issued_by: &'static str,
    /// Label: the exporter.
    pub exporter: &'static str,
    /// Label: the importer.
    pub importer: &'static str,
    /// Label: the destination.
    pub destination: &'static str,
    /// Label: the origin of the diamonds.
    pub origin: &'static str,
    /// Label: the number of parcels.
    pub parcels: &'static str,
    /// Label: the goods shipped.
    pub goods: &'static str,
    /// Label: the date of issue.
    pub issued_on: &'static str,
    /// Label: the date of expiry.
    pub expires_on: &'static str,
    /// Label: the date of import.
    pub imported_on: &'static str,
    /// Label: the date the certificate was voided.
    pub void_since: &'static str,
    /// Label: the ledger entry that records the certificate.
    pub ledger_entry: &'static str,
    /// Label: when the verification was made against the ledger.
    pub checked_at: &'static str,
    /// Heading of the documents page.
    pub documents_title: &'static str,
    /// Column: a document's title.
    pub title: &'static str,
    /// Column: a document's kind.
    pub kind: &'static str,
    /// Column: a document's date.
    pub date: &'static str,
    /// Link: download a document.
    pub download: &'static str,
    /// Link: the proof that a document is recorded in the ledger.
    pub proof: &'static str,
    /// No public documents.
    pub no_documents: &'static str,
    /// Label: the size of the page sent, in bytes.
    pub page_weight: &'static str,
    /// The footer of every page.
    pub footer: &'static str,
}

impl Texts {
    /// How many messages a catalog holds.
    pub const COUNT: usize = 101;

    /// Every message of the catalog, in the order of the fields.
    pub fn all(&self) -> [&'static str; Texts::COUNT] {
        // Destructured without `..`: a field added to Texts and forgotten here does not compile.
        let Texts {
            site_title,
            nav_home,
            nav_participants,
            nav_statistics,
            nav_ledger,
            nav_verify,
            nav_documents,
            language,
            home_title,
            home_scheme,
            home_ledger,
            home_privacy,
            home_verify,
            participants_title,
            participant,
            region,
            status,
            since,
            decision,
            history,
            effective,
            status_active,
            status_suspended,
            status_self_suspended,
            status_partially_suspended,
            status_removed,
            status_applicant,
            may_trade,
            may_not_trade,
            yes,
            no,
            statistics_title,
            statistics_intro,
            year,
            production,
            exports,
            imports,
            carats,
            value_usd,
            certificates,
            total,
            chart_exports,
            chart_years,
            no_data,
            ledger_title,
            entries,
            latest_checkpoint,
            root_hash,
            signed_at,
            last_audit,
            audited_by,
            never_audited,
            audit_how,
            verify_title,
            verify_help,
            verify_number,
            verify_button,
            verdict,
            verdict_valid,
            verdict_valid_advice,
            verdict_issuer_suspended,
            verdict_issuer_suspended_advice,
            verdict_void,
            verdict_void_advice,
            verdict_imported,
            verdict_imported_advice,
            verdict_expired,
            verdict_expired_advice,
            verdict_forged,
            verdict_forged_advice,
            verdict_key_revoked,
            verdict_key_revoked_advice,
            verdict_not_in_ledger,
            verdict_not_in_ledger_advice,
            verdict_malformed,
            verdict_malformed_advice,
            verdict_unknown,
            verdict_unknown_advice,
            certificate,
            issued_by,
            exporter,
            importer,
            destination,
            origin,
            parcels,
            goods,
            issued_on,
            expires_on,
            imported_on,
            void_since,
            ledger_entry,
            checked_at,
            documents_title,
            title,
            kind,
            date,
            download,
            proof,
            no_documents,
            page_weight,
            footer,
        } = *self;
        [
            site_title,
            nav_home,
            nav_participants,
            nav_statistics,
            nav_ledger,
            nav_verify,
            nav_documents,
            language,
            home_title,
            home_scheme,
            home_ledger,
            home_privacy,
            home_verify,
            participants_title,
            participant,
            region,
            status,
            since,
            decision,
            history,
            effective,
            status_active,
            status_suspended,
            status_self_suspended,
            status_partially_suspended,
            status_removed,
            status_applicant,
            may_trade,
            may_not_trade,
            yes,
            no,
            statistics_title,
            statistics_intro,
            year,
            production,
            exports,
            imports,
            carats,
            value_usd,
            certificates,
            total,
            chart_exports,
            chart_years,
            no_data,
            ledger_title,
            entries,
            latest_checkpoint,
            root_hash,
            signed_at,
            last_audit,
            audited_by,
            never_audited,
            audit_how,
            verify_title,
            verify_help,
            verify_number,
            verify_button,
            verdict,
            verdict_valid,
            verdict_valid_advice,
            verdict_issuer_suspended,
            verdict_issuer_suspended_advice,
            verdict_void,
            verdict_void_advice,
            verdict_imported,
            verdict_imported_advice,
            verdict_expired,
            verdict_expired_advice,
            verdict_forged,
            verdict_forged_advice,
            verdict_key_revoked,
            verdict_key_revoked_advice,
            verdict_not_in_ledger,
            verdict_not_in_ledger_advice,
            verdict_malformed,
            verdict_malformed_advice,
            verdict_unknown,
            verdict_unknown_advice,
            certificate,
            issued_by,
            exporter,
            importer,
            destination,
            origin,
            parcels,
            goods,
            issued_on,
            expires_on,
            imported_on,
            void_since,
            ledger_entry,
            checked_at,
            documents_title,
            title,
            kind,
            date,
            download,
            proof,
            no_documents,
            page_weight,
            footer,
        ]
    }
}

/// The English messages (the source of the translations).
pub static EN: Texts = Texts {
    site_title: "Kimberley Process certificate ledger",
    nav_home: "Home",
    nav_participants: "Participants",
    nav_statistics: "Statistics",
    nav_ledger: "Ledger",
    nav_verify: "Verify a certificate",
    nav_documents: "Documents",
    language: "Language",
    home_title: "Kimberley Process Certification Scheme",
    home_scheme: "The Kimberley Process Certification Scheme keeps conflict diamonds out of the \
        trade in rough diamonds. Every shipment of rough diamonds between participants travels \
        with a certificate issued by the exporting participant's authority.",
    home_ledger: "This service records every certificate, import confirmation and status \
        decision in an append-only ledger. Each entry is signed and chained; anyone can check \
        that nothing was altered, removed or rewritten.",
    home_privacy: "Trade details of each shipment stay confidential. The public sees the \
        verdict on a certificate and annual totals per participant.",
    home_verify: "Customs officers: scan the QR code on a certificate, or enter its number on \
        the verification page.",
    participants_title: "Participants and their standing",
    participant: "Participant",
    region: "Region",
    status: "Status",
    since: "Since",
    decision: "Decision",
    history: "History",
    effective: "In effect from",
    status_active: "Active",
    status_suspended: "Suspended",
    status_self_suspended: "Self-suspended",
    status_partially_suspended: "Partially suspended",
    status_removed: "Removed",
    status_applicant: "Applicant",
    may_trade: "May trade",
    may_not_trade: "May not trade",
    yes: "Yes",
    no: "No",
    statistics_title: "Trade statistics",
    statistics_intro: "Annual totals computed from the ledger's certificates and import \
        confirmations. Exports are certificates issued and not voided; imports are confirmed \
        arrivals; production is what each participant declared.",
    year: "Year",
    production: "Production",
    exports: "Exports",
    imports: "Imports",
    carats: "Carats",
    value_usd: "Value (US$)",
    certificates: "Certificates",
    total: "Total",
    chart_exports: "Exports by participant, in carats",
    chart_years: "Exports by year, in carats",
    no_data: "No data for this period.",
    ledger_title: "Ledger status",
    entries: "Entries",
    latest_checkpoint: "Latest signed checkpoint",
    root_hash: "Root hash",
    signed_at: "Signed at",
    last_audit: "Last audit",
    audited_by: "Audited by",
    never_audited: "No audit has been recorded yet.",
    audit_how: "Anyone can audit the ledger: download the public export and replay it with \
        kpcert audit.",
    verify_title: "Verify a certificate",
    verify_help: "Enter the certificate number printed on the paper, or open the link in its \
        QR code with your phone camera.",
    verify_number: "Certificate number",
    verify_button: "Check",
    verdict: "Verdict",
    verdict_valid: "VALID",
    verdict_valid_advice: "Genuine and recorded. Compare every field below with the paper and \
        the shipment.",
    verdict_issuer_suspended: "ISSUER SUSPENDED",
    verdict_issuer_suspended_advice: "Do not accept. The issuing participant was not in good \
        standing in the Kimberley Process when it issued this certificate, or the KP orders its \
        certificates refused.",
    verdict_void: "VOID",
    verdict_void_advice: "Do not accept. The issuing authority voided this certificate; if it \
        names a replacement, ask for that certificate.",
    verdict_imported: "ALREADY IMPORTED",
    verdict_imported_advice: "Do not accept a new shipment on it: this certificate was already \
        used for an import (re-use).",
    verdict_expired: "EXPIRED",
    verdict_expired_advice: "Genuine, but past its date of expiry. Do not accept the shipment \
        on this certificate.",
    verdict_forged: "FORGED",
    verdict_forged_advice: "Do not accept. The seal is not what the issuing authority signed \
        or recorded.",
    verdict_key_revoked: "KEY REVOKED",
    verdict_key_revoked_advice: "Do not accept. It was signed with a key recorded as \
        compromised at that time: contact the issuing authority.",
    verdict_not_in_ledger: "NOT IN LEDGER",
    verdict_not_in_ledger_advice: "Do not accept. Signed by a trusted key but never recorded: \
        report it.",
    verdict_malformed: "NOT A KP SEAL",
    verdict_malformed_advice: "This code is not a Kimberley Process seal. Check the \
        certificate by its number.",
    verdict_unknown: "UNKNOWN",
    verdict_unknown_advice: "No certificate with this number is recorded. Do not accept the \
        shipment; contact the issuing authority.",
    certificate: "Certificate",
    issued_by: "Issued by",
    exporter: "Exporter",
    importer: "Importer",
    destination: "Destination",
    origin: "Origin",
    parcels: "Parcels",
    goods: "Goods",
    issued_on: "Issued on",
    expires_on: "Expires on",
    imported_on: "Imported on",
    void_since: "Void since",
    ledger_entry: "Ledger entry",
    checked_at: "Checked against the ledger at",
    documents_title: "Public documents",
    title: "Title",
    kind: "Kind",
    date: "Date",
    download: "Download",
    proof: "Proof of record",
    no_documents: "No public documents yet.",
    page_weight: "Page size",
    footer: "Public record of the Kimberley Process Certification Scheme, kept by the KP \
        Secretariat.",
};

/// The French messages. French typography: a no-break space before ':' and a narrow
/// no-break space before ';'.
pub static FR: Texts = Texts {
    site_title: "Registre des certificats du Processus de Kimberley",
    nav_home: "Accueil",
    nav_participants: "Participants",
    nav_statistics: "Statistiques",
    nav_ledger: "Registre",
    nav_verify: "Vérifier un certificat",
    nav_documents: "Documents",
    language: "Langue",
    home_title: "Système de certification du Processus de Kimberley",
    home_scheme: "Le Système de certification du Processus de Kimberley tient les diamants \
        de la guerre à l'écart du commerce des diamants bruts. Chaque expédition de diamants \
        bruts entre participants est accompagnée d'un certificat délivré par l'autorité du \
        participant exportateur.",
    home_ledger: "Ce service inscrit chaque certificat, chaque confirmation d'importation et \
        chaque décision relative au statut dans un registre où l'on ne peut qu'ajouter. \
        Chaque inscription est signée et chaînée à la précédente\u{202f}; chacun peut vérifier \
        que rien n'a été modifié, supprimé ou réécrit.",
    home_privacy: "Les données commerciales de chaque expédition restent confidentielles. Le \
        public voit le résultat de la vérification d'un certificat et les totaux annuels par \
        participant.",
    home_verify: "Agents des douanes\u{a0}: scannez le code QR figurant sur un certificat, ou \
        saisissez son numéro sur la page de vérification.",
    participants_title: "Les participants et leur statut",
    participant: "Participant",
    region: "Région",
    status: "Statut",
    since: "Depuis",
    decision: "Décision",
    history: "Historique",
    effective: "Date d'effet",
    status_active: "Actif",
    status_suspended: "Suspendu",
    status_self_suspended: "Auto-suspendu",
    status_partially_suspended: "Partiellement suspendu",
    status_removed: "Exclu",
    status_applicant: "Candidat",
    may_trade: "Commerce autorisé",
    may_not_trade: "Commerce non autorisé",
    yes: "Oui",
    no: "Non",
    statistics_title: "Statistiques du commerce",
    statistics_intro: "Totaux annuels calculés à partir des certificats et des confirmations \
        d'importation inscrits au registre. Les exportations sont les certificats délivrés et \
        non annulés\u{202f}; les importations sont les arrivées confirmées\u{202f}; la \
        production est celle que chaque participant a déclarée.",
    year: "Année",
    production: "Production",
    exports: "Exportations",
    imports: "Importations",
    carats: "Carats",
    value_usd: "Valeur (USD)",
    certificates: "Certificats",
    total: "Total",
    chart_exports: "Exportations par participant, en carats",
    chart_years: "Exportations par année, en carats",
    no_data: "Aucune donnée pour cette période.",
    ledger_title: "État du registre",
    entries: "Inscriptions",
    latest_checkpoint: "Dernier point de contrôle signé",
    root_hash: "Empreinte racine",
    signed_at: "Signé le",
    last_audit: "Dernier audit",
    audited_by: "Audit effectué par",
    never_audited: "Aucun audit n'a encore été enregistré.",
    audit_how: "Chacun peut auditer le registre\u{a0}: téléchargez l'export public et \
        rejouez-le avec la commande kpcert audit.",
    verify_title: "Vérifier un certificat",
    verify_help: "Saisissez le numéro de certificat imprimé sur le document papier, ou ouvrez \
        le lien de son code QR avec l'appareil photo de votre téléphone.",
    verify_number: "Numéro du certificat",
    verify_button: "Vérifier",
    verdict: "Résultat",
    verdict_valid: "VALIDE",
    verdict_valid_advice: "Authentique et enregistré. Comparer chacun des champs ci-dessous \
        avec le document papier et l'expédition.",
    verdict_issuer_suspended: "ÉMETTEUR SUSPENDU",
    verdict_issuer_suspended_advice: "Ne pas accepter. Le participant émetteur n'était pas en \
        règle au regard du Processus de Kimberley lorsqu'il a délivré ce certificat, ou le PK \
        a ordonné que ses certificats soient refusés.",
    verdict_void: "ANNULÉ",
    verdict_void_advice: "Ne pas accepter. L'autorité émettrice a annulé ce certificat\u{202f}; \
        si l'annulation désigne un certificat de remplacement, demander ce dernier.",
    verdict_imported: "DÉJÀ IMPORTÉ",
    verdict_imported_advice: "Ne pas accepter de nouvelle expédition sous couvert de ce \
        certificat\u{a0}: il a déjà servi à une importation (réutilisation).",
    verdict_expired: "EXPIRÉ",
    verdict_expired_advice: "Authentique, mais sa date d'expiration est dépassée. Ne pas \
        accepter l'expédition sous couvert de ce certificat.",
    verdict_forged: "FALSIFIÉ",
    verdict_forged_advice: "Ne pas accepter. Le sceau ne correspond pas à ce que l'autorité \
        émettrice a signé ou enregistré.",
    verdict_key_revoked: "CLÉ RÉVOQUÉE",
    verdict_key_revoked_advice: "Ne pas accepter. Il a été signé avec une clé enregistrée \
        comme compromise à cette date\u{a0}: contacter l'autorité émettrice.",
    verdict_not_in_ledger: "ABSENT DU REGISTRE",
    verdict_not_in_ledger_advice: "Ne pas accepter. Signé avec une clé de confiance, mais \
        jamais enregistré\u{a0}: le signaler.",
    verdict_malformed: "PAS UN SCEAU DU PK",
    verdict_malformed_advice: "Ce code n'est pas un sceau du Processus de Kimberley. Vérifier \
        le certificat à l'aide de son numéro.",
    verdict_unknown: "INCONNU",
    verdict_unknown_advice: "Aucun certificat portant ce numéro n'est enregistré. Ne pas \
        accepter l'expédition\u{202f}; contacter l'autorité émettrice.",
    certificate: "Certificat",
    issued_by: "Délivré par",
    exporter: "Exportateur",
    importer: "Importateur",
    destination: "Destination",
    origin: "Origine",
    parcels: "Colis",
    goods: "Marchandises",
    issued_on: "Délivré le",
    expires_on: "Expire le",
    imported_on: "Importé le",
    void_since: "Annulé depuis le",
    ledger_entry: "Inscription au registre",
    checked_at: "Vérifié par rapport au registre le",
    documents_title: "Documents publics",
    title: "Titre",
    kind: "Type",
    date: "Date",
    download: "Télécharger",
    proof: "Preuve d'inscription",
    no_documents: "Aucun document public pour le moment.",
    page_weight: "Taille de la page",
    footer: "Registre public du Système de certification du Processus de Kimberley, tenu par \
        le Secrétariat du PK.",
};

/// The Portuguese messages, in the European and African norm (the 1990 orthographic
/// agreement), worded to read naturally in Brazil too.
pub static PT: Texts = Texts {
    site_title: "Registo de certificados do Processo de Kimberley",
    nav_home: "Início",
    nav_participants: "Participantes",
    nav_statistics: "Estatísticas",
    nav_ledger: "Registo",
    nav_verify: "Verificar um certificado",
    nav_documents: "Documentos",
    language: "Idioma",
    home_title: "Sistema de Certificação do Processo de Kimberley",
    home_scheme: "O Sistema de Certificação do Processo de Kimberley impede a entrada de \
        diamantes de conflito no comércio de diamantes em bruto. Cada remessa de diamantes em \
        bruto entre participantes é acompanhada de um certificado emitido pela autoridade do \
        participante exportador.",
    home_ledger: "Este serviço inscreve cada certificado, cada confirmação de importação e cada \
        decisão sobre a situação dos participantes num registo ao qual só se podem acrescentar \
        entradas. Cada entrada é assinada e encadeada na anterior; qualquer pessoa pode \
        verificar que nada foi alterado, removido ou reescrito.",
    home_privacy: "Os dados comerciais de cada remessa permanecem confidenciais. O público vê o \
        resultado da verificação de um certificado e os totais anuais por participante.",
    home_verify: "Funcionários aduaneiros: leiam o código QR de um certificado ou insiram o seu \
        número na página de verificação.",
    participants_title: "Participantes e a sua situação",
    participant: "Participante",
    region: "Região",
    status: "Situação",
    since: "Desde",
    decision: "Decisão",
    history: "Histórico",
    effective: "Em vigor a partir de",
    status_active: "Ativo",
    status_suspended: "Suspenso",
    status_self_suspended: "Autossuspenso",
    status_partially_suspended: "Parcialmente suspenso",
    status_removed: "Excluído",
    status_applicant: "Candidato",
    may_trade: "Pode comercializar",
    may_not_trade: "Não pode comercializar",
    yes: "Sim",
    no: "Não",
    statistics_title: "Estatísticas comerciais",
    statistics_intro: "Totais anuais calculados a partir dos certificados e das confirmações de \
        importação do registo. As exportações são os certificados emitidos e não anulados; as \
        importações são as chegadas confirmadas; a produção é a que cada participante \
        declarou.",
    year: "Ano",
    production: "Produção",
    exports: "Exportações",
    imports: "Importações",
    carats: "Quilates",
    value_usd: "Valor (US$)",
    certificates: "Certificados",
    total: "Total",
    chart_exports: "Exportações por participante, em quilates",
    chart_years: "Exportações por ano, em quilates",
    no_data: "Sem dados para este período.",
    ledger_title: "Estado do registo",
    entries: "Entradas",
    latest_checkpoint: "Último ponto de verificação assinado",
    root_hash: "Hash da raiz",
    signed_at: "Assinado em",
    last_audit: "Última auditoria",
    audited_by: "Auditado por",
    never_audited: "Ainda não foi registada nenhuma auditoria.",
    audit_how: "Qualquer pessoa pode auditar o registo: descarregue a exportação pública e \
        reproduza-a com o comando kpcert audit.",
    verify_title: "Verificar um certificado",
    verify_help: "Introduza o número do certificado impresso no documento em papel, ou abra a \
        ligação do seu código QR com a câmara do telemóvel.",
    verify_number: "Número do certificado",
    verify_button: "Verificar",
    verdict: "Resultado",
    verdict_valid: "VÁLIDO",
    verdict_valid_advice: "Autêntico e registado. Comparar cada campo abaixo com o documento \
        em papel e com a remessa.",
    verdict_issuer_suspended: "EMISSOR SUSPENSO",
    verdict_issuer_suspended_advice: "Não aceitar. O participante emissor não estava em \
        situação regular no Processo de Kimberley quando emitiu este certificado, ou o PK \
        determinou a recusa dos seus certificados.",
    verdict_void: "ANULADO",
    verdict_void_advice: "Não aceitar. A autoridade emissora anulou este certificado; se a \
        anulação indicar um certificado de substituição, solicitar esse certificado.",
    verdict_imported: "JÁ IMPORTADO",
    verdict_imported_advice: "Não aceitar nenhuma nova remessa ao abrigo deste certificado: já \
        foi utilizado numa importação (reutilização).",
    verdict_expired: "EXPIRADO",
    verdict_expired_advice: "Autêntico, mas o prazo de validade terminou. Não aceitar a \
        remessa ao abrigo deste certificado.",
    verdict_forged: "FALSIFICADO",
    verdict_forged_advice: "Não aceitar. O selo não corresponde ao que a autoridade emissora \
        assinou ou registou.",
    verdict_key_revoked: "CHAVE REVOGADA",
    verdict_key_revoked_advice: "Não aceitar. Foi assinado com uma chave registada como \
        comprometida nessa data: contactar a autoridade emissora.",
    verdict_not_in_ledger: "NÃO CONSTA DO REGISTO",
    verdict_not_in_ledger_advice: "Não aceitar. Assinado com uma chave de confiança, mas \
        nunca registado: comunicar o caso.",
    verdict_malformed: "NÃO É UM SELO DO PK",
    verdict_malformed_advice: "Este código não é um selo do Processo de Kimberley. Verificar o \
        certificado pelo seu número.",
    verdict_unknown: "DESCONHECIDO",
    verdict_unknown_advice: "Não está registado nenhum certificado com este número. Não \
        aceitar a remessa; contactar a autoridade emissora.",
    certificate: "Certificado",
    issued_by: "Emitido por",
    exporter: "Exportador",
    importer: "Importador",
    destination: "Destino",
    origin: "Origem",
    parcels: "Lotes",
    goods: "Mercadorias",
    issued_on: "Emitido em",
    expires_on: "Expira em",
    imported_on: "Importado em",
    void_since: "Anulado desde",
    ledger_entry: "Entrada no registo",
    checked_at: "Verificado no registo em",
    documents_title: "Documentos públicos",
    title: "Título",
    kind: "Tipo",
    date: "Data",
    download: "Descarregar",
    proof: "Prova de registo",
    no_documents: "Ainda não há documentos públicos.",
    page_weight: "Tamanho da página",
    footer: "Registo público do Sistema de Certificação do Processo de Kimberley, mantido pelo \
        Secretariado do PK.",
};

/// The Russian messages.
pub static RU: Texts = Texts {
    site_title: "Реестр сертификатов Кимберлийского процесса",
    nav_home: "Главная",
    nav_participants: "Участники",
    nav_statistics: "Статистика",
    nav_ledger: "Реестр",
    nav_verify: "Проверить сертификат",
    nav_documents: "Документы",
    language: "Язык",
    home_title: "Схема сертификации Кимберлийского процесса",
    home_scheme: "Схема сертификации Кимберлийского процесса не допускает алмазы из зон \
        конфликтов в торговлю необработанными алмазами. Каждая партия необработанных алмазов, \
        перемещаемая между участниками, сопровождается сертификатом, выданным уполномоченным \
        органом участника-экспортера.",
    home_ledger: "Этот сервис вносит каждый сертификат, каждое подтверждение импорта и каждое \
        решение о статусе в реестр, допускающий только добавление записей. Каждая запись \
        подписана и связана с предыдущей в цепочку; любой может проверить, что ничего не было \
        изменено, удалено или переписано.",
    home_privacy: "Коммерческие сведения о каждой партии остаются конфиденциальными. \
        Общедоступны только результат проверки сертификата и годовые итоги по каждому \
        участнику.",
    home_verify: "Сотрудникам таможни: отсканируйте QR-код на сертификате или введите его \
        номер на странице проверки.",
    participants_title: "Участники и их статус",
    participant: "Участник",
    region: "Регион",
    status: "Статус",
    since: "Дата начала",
    decision: "Решение",
    history: "История",
    effective: "Действует с",
    status_active: "Действующий",
    status_suspended: "Участие приостановлено",
    status_self_suspended: "Участие приостановлено добровольно",
    status_partially_suspended: "Участие частично приостановлено",
    status_removed: "Исключен",
    status_applicant: "Кандидат",
    may_trade: "Торговля разрешена",
    may_not_trade: "Торговля не разрешена",
    yes: "Да",
    no: "Нет",
    statistics_title: "Статистика торговли",
    statistics_intro: "Годовые итоги, рассчитанные по сертификатам и подтверждениям импорта, \
        внесенным в реестр. Экспорт — выданные и не аннулированные сертификаты; импорт — \
        подтвержденные поступления; добыча — объемы, заявленные каждым участником.",
    year: "Год",
    production: "Добыча",
    exports: "Экспорт",
    imports: "Импорт",
    carats: "Караты",
    value_usd: "Стоимость (долл. США)",
    certificates: "Сертификаты",
    total: "Итого",
    chart_exports: "Экспорт по участникам, в каратах",
    chart_years: "Экспорт по годам, в каратах",
    no_data: "Нет данных за этот период.",
    ledger_title: "Состояние реестра",
    entries: "Записи",
    latest_checkpoint: "Последняя подписанная контрольная точка",
    root_hash: "Корневой хеш",
    signed_at: "Подписано",
    last_audit: "Последний аудит",
    audited_by: "Аудит провел",
    never_audited: "Сведений о проведенных аудитах пока нет.",
    audit_how: "Провести аудит реестра может любой: скачайте общедоступную выгрузку и \
        воспроизведите ее командой kpcert audit.",
    verify_title: "Проверка сертификата",
    verify_help: "Введите номер сертификата, напечатанный на бумажном бланке, или откройте \
        ссылку из его QR-кода камерой телефона.",
    verify_number: "Номер сертификата",
    verify_button: "Проверить",
    verdict: "Результат",
    verdict_valid: "ДЕЙСТВИТЕЛЕН",
    verdict_valid_advice: "Подлинный и внесен в реестр. Сверьте каждое поле ниже с бумажным \
        бланком и с партией.",
    verdict_issuer_suspended: "УЧАСТИЕ ВЫДАВШЕЙ СТОРОНЫ ПРИОСТАНОВЛЕНО",
    verdict_issuer_suspended_advice: "Не принимайте. Выдавший сертификат участник на момент \
        выдачи не имел надлежащего статуса в Кимберлийском процессе, либо КП предписывает \
        отклонять его сертификаты.",
    verdict_void: "АННУЛИРОВАН",
    verdict_void_advice: "Не принимайте. Выдавший орган аннулировал этот сертификат; если в \
        решении об аннулировании указан сертификат на замену, запросите его.",
    verdict_imported: "УЖЕ ИМПОРТИРОВАН",
    verdict_imported_advice: "Не принимайте по нему новую партию: этот сертификат уже \
        использован для импорта (повторное использование).",
    verdict_expired: "СРОК ДЕЙСТВИЯ ИСТЕК",
    verdict_expired_advice: "Подлинный, но срок его действия истек. Не принимайте партию по \
        этому сертификату.",
    verdict_forged: "ПОДДЕЛАН",
    verdict_forged_advice: "Не принимайте. Печать не совпадает с тем, что подписал или \
        зарегистрировал выдавший орган.",
    verdict_key_revoked: "КЛЮЧ ОТОЗВАН",
    verdict_key_revoked_advice: "Не принимайте. Сертификат подписан ключом, который на тот \
        момент был зарегистрирован как скомпрометированный: свяжитесь с выдавшим органом.",
    verdict_not_in_ledger: "НЕТ В РЕЕСТРЕ",
    verdict_not_in_ledger_advice: "Не принимайте. Подписан доверенным ключом, но так и не \
        внесен в реестр: сообщите об этом.",
    verdict_malformed: "НЕ ПЕЧАТЬ КП",
    verdict_malformed_advice: "Этот код не является печатью Кимберлийского процесса. \
        Проверьте сертификат по его номеру.",
    verdict_unknown: "НЕИЗВЕСТЕН",
    verdict_unknown_advice: "Сертификат с таким номером не зарегистрирован. Не принимайте \
        партию; свяжитесь с выдавшим органом.",
    certificate: "Сертификат",
    issued_by: "Кем выдан",
    exporter: "Экспортер",
    importer: "Импортер",
    destination: "Место назначения",
    origin: "Происхождение",
    parcels: "Упаковки",
    goods: "Товары",
    issued_on: "Дата выдачи",
    expires_on: "Действителен до",
    imported_on: "Дата импорта",
    void_since: "Аннулирован с",
    ledger_entry: "Запись в реестре",
    checked_at: "Сверено с реестром",
    documents_title: "Общедоступные документы",
    title: "Название",
    kind: "Вид",
    date: "Дата",
    download: "Скачать",
    proof: "Подтверждение записи",
    no_documents: "Общедоступных документов пока нет.",
    page_weight: "Размер страницы",
    footer: "Открытый реестр Схемы сертификации Кимберлийского процесса, который ведет \
        Секретариат КП.",
};

/// The Arabic messages (Modern Standard Arabic, right to left).
pub static AR: Texts = Texts {
    site_title: "سجل شهادات عملية كيمبرلي",
    nav_home: "الصفحة الرئيسية",
    nav_participants: "المشاركون",
    nav_statistics: "الإحصاءات",
    nav_ledger: "السجل",
    nav_verify: "التحقق من شهادة",
    nav_documents: "الوثائق",
    language: "اللغة",
    home_title: "نظام شهادات عملية كيمبرلي",
    home_scheme: "يمنع نظام شهادات عملية كيمبرلي دخول الماس الممول للصراعات إلى تجارة الماس \
        الخام. وترافق كل شحنة من الماس الخام بين المشاركين شهادة تصدرها السلطة المختصة لدى \
        المشارك المصدِّر.",
    home_ledger: "تقيد هذه الخدمة كل شهادة وكل تأكيد استيراد وكل قرار بشأن حالة المشاركين في \
        سجل لا يقبل إلا الإضافة. وكل قيد فيه موقّع ومرتبط بما قبله في سلسلة، ويمكن لأي شخص أن \
        يتحقق من عدم تغيير أي شيء فيه أو حذفه أو إعادة كتابته.",
    home_privacy: "تظل البيانات التجارية لكل شحنة سرية. ولا يطّلع الجمهور إلا على نتيجة \
        التحقق من الشهادة وعلى المجاميع السنوية لكل مشارك.",
    home_verify: "موظفو الجمارك: يُرجى مسح رمز QR الموجود على الشهادة، أو إدخال رقمها في صفحة \
        التحقق.",
    participants_title: "المشاركون وحالتهم",
    participant: "المشارك",
    region: "المنطقة",
    status: "الحالة",
    since: "منذ",
    decision: "القرار",
    history: "التسلسل الزمني",
    effective: "يسري اعتباراً من",
    status_active: "نشط",
    status_suspended: "معلّق",
    status_self_suspended: "معلّق طوعاً",
    status_partially_suspended: "معلّق جزئياً",
    status_removed: "مستبعد",
    status_applicant: "مقدم طلب انضمام",
    may_trade: "يجوز له الاتجار",
    may_not_trade: "لا يجوز له الاتجار",
    yes: "نعم",
    no: "لا",
    statistics_title: "إحصاءات التجارة",
    statistics_intro: "مجاميع سنوية محسوبة من الشهادات وتأكيدات الاستيراد المقيدة في السجل. \
        فالصادرات هي الشهادات الصادرة غير الملغاة، والواردات هي الشحنات التي تأكد وصولها، \
        والإنتاج هو ما أعلنه كل مشارك.",
    year: "السنة",
    production: "الإنتاج",
    exports: "الصادرات",
    imports: "الواردات",
    carats: "القيراط",
    value_usd: "القيمة (بدولارات الولايات المتحدة)",
    certificates: "الشهادات",
    total: "المجموع",
    chart_exports: "الصادرات حسب المشارك، بالقيراط",
    chart_years: "الصادرات حسب السنة، بالقيراط",
    no_data: "لا توجد بيانات لهذه الفترة.",
    ledger_title: "حالة السجل",
    entries: "القيود",
    latest_checkpoint: "آخر نقطة تحقق موقّعة",
    root_hash: "قيمة التجزئة الجذرية",
    signed_at: "وقت التوقيع",
    last_audit: "آخر تدقيق",
    audited_by: "أجرى التدقيق",
    never_audited: "لم يُسجَّل أي تدقيق حتى الآن.",
    audit_how: "يمكن لأي شخص تدقيق السجل: وذلك بتنزيل النسخة العامة المصدَّرة منه وإعادة \
        تشغيلها باستخدام الأمر kpcert audit.",
    verify_title: "التحقق من شهادة",
    verify_help: "يُرجى إدخال رقم الشهادة المطبوع على النسخة الورقية، أو فتح الرابط الموجود في \
        رمز QR الخاص بها بكاميرا الهاتف.",
    verify_number: "رقم الشهادة",
    verify_button: "تحقّق",
    verdict: "النتيجة",
    verdict_valid: "صالحة",
    verdict_valid_advice: "أصلية ومقيدة في السجل. يُرجى مطابقة كل حقل أدناه مع النسخة الورقية \
        ومع الشحنة.",
    verdict_issuer_suspended: "المشارك المُصدِر معلّق",
    verdict_issuer_suspended_advice: "يجب عدم قبولها. لم يكن المشارك المُصدِر في وضع سليم في \
        عملية كيمبرلي عند إصداره هذه الشهادة، أو أن عملية كيمبرلي قضت برفض شهاداته.",
    verdict_void: "ملغاة",
    verdict_void_advice: "يجب عدم قبولها. ألغت السلطة المُصدِرة هذه الشهادة؛ وإذا حُددت شهادة \
        بديلة لها، فيُرجى طلب تلك الشهادة.",
    verdict_imported: "سبق الاستيراد بموجبها",
    verdict_imported_advice: "يجب عدم قبول أي شحنة جديدة بموجبها: فقد سبق استخدام هذه الشهادة \
        في استيراد سابق (إعادة استخدام).",
    verdict_expired: "منتهية الصلاحية",
    verdict_expired_advice: "أصلية، لكن تاريخ انتهاء صلاحيتها قد انقضى. يجب عدم قبول الشحنة \
        بموجب هذه الشهادة.",
    verdict_forged: "مزوّرة",
    verdict_forged_advice: "يجب عدم قبولها. الختم لا يطابق ما وقّعته السلطة المُصدِرة أو \
        سجّلته.",
    verdict_key_revoked: "المفتاح مُلغى",
    verdict_key_revoked_advice: "يجب عدم قبولها. وُقّعت بمفتاح كان مسجلاً في ذلك الوقت على أنه \
        مخترق: يُرجى الاتصال بالسلطة المُصدِرة.",
    verdict_not_in_ledger: "غير مقيدة في السجل",
    verdict_not_in_ledger_advice: "يجب عدم قبولها. وُقّعت بمفتاح موثوق لكنها لم تُقيَّد في \
        السجل قط: يُرجى الإبلاغ عنها.",
    verdict_malformed: "ليس ختماً لعملية كيمبرلي",
    verdict_malformed_advice: "هذا الرمز ليس ختماً لعملية كيمبرلي. يُرجى التحقق من الشهادة \
        برقمها.",
    verdict_unknown: "غير معروفة",
    verdict_unknown_advice: "لا توجد شهادة مقيدة بهذا الرقم. يجب عدم قبول الشحنة؛ يُرجى الاتصال \
        بالسلطة المُصدِرة.",
    certificate: "الشهادة",
    issued_by: "صادرة عن",
    exporter: "المصدِّر",
    importer: "المستورد",
    destination: "المقصد",
    origin: "المنشأ",
    parcels: "الطرود",
    goods: "البضائع",
    issued_on: "تاريخ الإصدار",
    expires_on: "تاريخ انتهاء الصلاحية",
    imported_on: "تاريخ الاستيراد",
    void_since: "ملغاة منذ",
    ledger_entry: "القيد في السجل",
    checked_at: "تمت المطابقة مع السجل في",
    documents_title: "الوثائق العامة",
    title: "العنوان",
    kind: "النوع",
    date: "التاريخ",
    download: "تنزيل",
    proof: "إثبات القيد",
    no_documents: "لا توجد وثائق عامة حتى الآن.",
    page_weight: "حجم الصفحة",
    footer: "السجل العام لنظام شهادات عملية كيمبرلي، تتولى حفظه أمانة عملية كيمبرلي.",
};

/// The Chinese messages, in simplified characters.
pub static ZH: Texts = Texts {
    site_title: "金伯利进程证书登记册",
    nav_home: "首页",
    nav_participants: "参与方",
    nav_statistics: "统计",
    nav_ledger: "登记册",
    nav_verify: "核验证书",
    nav_documents: "文件",
    language: "语言",
    home_title: "金伯利进程证书制度",
    home_scheme: "金伯利进程证书制度防止冲突钻石进入毛坯钻石贸易。参与方之间的每批毛坯钻石货物\
        均须附有出口参与方主管机构签发的证书。",
    home_ledger: "本服务将每份证书、每项进口确认和每项状态决定记入只可追加的登记册。每个条目均\
        经签名并依次链接；任何人都可以核查没有任何内容被更改、删除或改写。",
    home_privacy: "每批货物的贸易细节均予保密。公众可以看到证书的核验结果以及各参与方的年度\
        总量。",
    home_verify: "海关官员：请扫描证书上的二维码，或在核验页面输入证书编号。",
    participants_title: "参与方及其状态",
    participant: "参与方",
    region: "区域",
    status: "状态",
    since: "起始日期",
    decision: "决定",
    history: "历史记录",
    effective: "生效日期",
    status_active: "正常",
    status_suspended: "已暂停",
    status_self_suspended: "自行暂停",
    status_partially_suspended: "部分暂停",
    status_removed: "已除名",
    status_applicant: "申请方",
    may_trade: "允许贸易",
    may_not_trade: "不允许贸易",
    yes: "是",
    no: "否",
    statistics_title: "贸易统计",
    statistics_intro: "根据登记册中的证书和进口确认计算的年度总量。出口指已签发且未作废的证书；\
        进口指已确认的到货；产量指各参与方申报的数量。",
    year: "年份",
    production: "产量",
    exports: "出口",
    imports: "进口",
    carats: "克拉",
    value_usd: "价值（美元）",
    certificates: "证书",
    total: "合计",
    chart_exports: "各参与方出口量（克拉）",
    chart_years: "各年度出口量（克拉）",
    no_data: "该期间无数据。",
    ledger_title: "登记册状态",
    entries: "条目",
    latest_checkpoint: "最新签名检查点",
    root_hash: "根哈希",
    signed_at: "签名时间",
    last_audit: "最近一次审计",
    audited_by: "审计方",
    never_audited: "尚无审计记录。",
    audit_how: "任何人都可以审计登记册：下载公开导出文件，并用 kpcert audit 命令重放。",
    verify_title: "核验证书",
    verify_help: "请输入纸质证书上印制的证书编号，或用手机相机打开证书二维码中的链接。",
    verify_number: "证书编号",
    verify_button: "核验",
    verdict: "核验结果",
    verdict_valid: "有效",
    verdict_valid_advice: "证书真实且已登记。请将下列各栏与纸质证书及货物逐一核对。",
    verdict_issuer_suspended: "签发方已被暂停",
    verdict_issuer_suspended_advice: "请勿接受。签发本证书时，签发参与方在金伯利进程中不具备\
        良好地位，或金伯利进程已下令拒绝其证书。",
    verdict_void: "已作废",
    verdict_void_advice: "请勿接受。签发机构已作废本证书；如指明了替代证书，请索取该证书。",
    verdict_imported: "已进口",
    verdict_imported_advice: "请勿凭本证书接受新的货物：本证书已用于一次进口（重复使用）。",
    verdict_expired: "已过期",
    verdict_expired_advice: "证书真实，但已过有效期。请勿凭本证书接受该批货物。",
    verdict_forged: "伪造",
    verdict_forged_advice: "请勿接受。该印章与签发机构签名或登记的内容不符。",
    verdict_key_revoked: "密钥已吊销",
    verdict_key_revoked_advice: "请勿接受。本证书使用当时已登记为泄露的密钥签名：请联系签发\
        机构。",
    verdict_not_in_ledger: "未载入登记册",
    verdict_not_in_ledger_advice: "请勿接受。由受信任的密钥签名，但从未登记：请报告此情况。",
    verdict_malformed: "非金伯利进程印章",
    verdict_malformed_advice: "此代码不是金伯利进程印章。请按证书编号核验证书。",
    verdict_unknown: "未知",
    verdict_unknown_advice: "未登记该编号的证书。请勿接受该批货物；请联系签发机构。",
    certificate: "证书",
    issued_by: "签发方",
    exporter: "出口商",
    importer: "进口商",
    destination: "目的地",
    origin: "原产地",
    parcels: "包裹",
    goods: "货物",
    issued_on: "签发日期",
    expires_on: "有效期至",
    imported_on: "进口日期",
    void_since: "作废日期",
    ledger_entry: "登记册条目",
    checked_at: "与登记册核对时间",
    documents_title: "公开文件",
    title: "标题",
    kind: "类型",
    date: "日期",
    download: "下载",
    proof: "登记证明",
    no_documents: "暂无公开文件。",
    page_weight: "页面大小",
    footer: "金伯利进程证书制度公开记录，由金伯利进程秘书处保存。",
};

/// The participants' names, by code: English, French, Portuguese, Russian, Arabic, Chinese
/// (the order of [`Lang::ALL`]). English follows data/participants.csv.
static COUNTRIES: [(&str, [&str; 6]); 61] = [
    (
        "AE",
        [
            "United Arab Emirates",
            "Émirats arabes unis",
            "Emirados Árabes Unidos",
            "Объединенные Арабские Эмираты",
            "الإمارات العربية المتحدة",
            "阿拉伯联合酋长国",
        ],
    ),
    (
        "AM",
        [
            "Armenia",
            "Arménie",
            "Arménia",
            "Армения",
            "أرمينيا",
            "亚美尼亚",
        ],
    ),
    (
        "AO",
        ["Angola", "Angola", "Angola", "Ангола", "أنغولا", "安哥拉"],
    ),
    (
        "AU",
        [
            "Australia",
            "Australie",
            "Austrália",
            "Австралия",
            "أستراليا",
            "澳大利亚",
        ],
    ),
    (
        "BD",
        [
            "Bangladesh",
            "Bangladesh",
            "Bangladesh",
            "Бангладеш",
            "بنغلاديش",
            "孟加拉国",
        ],
    ),
    (
        "BR",
        ["Brazil", "Brésil", "Brasil", "Бразилия", "البرازيل", "巴西"],
    ),
    (
        "BW",
        [
            "Botswana",
            "Botswana",
            "Botsuana",
            "Ботсвана",
            "بوتسوانا",
            "博茨瓦纳",
        ],
    ),
    (
        "BY",
        [
            "Belarus",
            "Bélarus",
            "Bielorrússia",
            "Беларусь",
            "بيلاروس",
            "白俄罗斯",
        ],
    ),
    (
        "CA",
        ["Canada", "Canada", "Canadá", "Канада", "كندا", "加拿大"],
    ),
    (
        "CD",
        [
            "Democratic Republic of the Congo",
            "République démocratique du Congo",
            "República Democrática do Congo",
            "Демократическая Республика Конго",
            "جمهورية الكونغو الديمقراطية",
            "刚果民主共和国",
        ],
    ),
    (
        "CF",
        [
            "Central African Republic",
            "République centrafricaine",
            "República Centro-Africana",
            "Центральноафриканская Республика",
            "جمهورية أفريقيا الوسطى",
            "中非共和国",
        ],
    ),
    (
        "CG",
        [
            "Republic of the Congo",
            "République du Congo",
            "República do Congo",
            "Республика Конго",
            "جمهورية الكونغو",
            "刚果共和国",
        ],
    ),
    (
        "CH",
        [
            "Switzerland",
            "Suisse",
            "Suíça",
            "Швейцария",
            "سويسرا",
            "瑞士",
        ],
    ),
    (
        "CI",
        [
            "Côte d'Ivoire",
            "Côte d'Ivoire",
            "Costa do Marfim",
            "Кот-д'Ивуар",
            "كوت ديفوار",
            "科特迪瓦",
        ],
    ),
    (
        "CM",
        [
            "Cameroon",
            "Cameroun",
            "Camarões",
            "Камерун",
            "الكاميرون",
            "喀麦隆",
        ],
    ),
    ("CN", ["China", "Chine", "China", "Китай", "الصين", "中国"]),
    (
        "EU",
        [
            "European Union",
            "Union européenne",
            "União Europeia",
            "Европейский союз",
            "الاتحاد الأوروبي",
            "欧洲联盟",
        ],
    ),
    ("GA", ["Gabon", "Gabon", "Gabão", "Габон", "غابون", "加蓬"]),
    (
        "GB",
        [
            "United Kingdom",
            "Royaume-Uni",
            "Reino Unido",
            "Соединенное Королевство",
            "المملكة المتحدة",
            "英国",
        ],
    ),
    ("GH", ["Ghana", "Ghana", "Gana", "Гана", "غانا", "加纳"]),
    (
        "GN",
        ["Guinea", "Guinée", "Guiné", "Гвинея", "غينيا", "几内亚"],
    ),
    (
        "GY",
        ["Guyana", "Guyana", "Guiana", "Гайана", "غيانا", "圭亚那"],
    ),
    (
        "ID",
        [
            "Indonesia",
            "Indonésie",
            "Indonésia",
            "Индонезия",
            "إندونيسيا",
            "印度尼西亚",
        ],
    ),
    (
        "IL",
        ["Israel", "Israël", "Israel", "Израиль", "إسرائيل", "以色列"],
    ),
    ("IN", ["India", "Inde", "Índia", "Индия", "الهند", "印度"]),
    (
        "JP",
        ["Japan", "Japon", "Japão", "Япония", "اليابان", "日本"],
    ),
    (
        "KG",
        [
            "Kyrgyzstan",
            "Kirghizistan",
            "Quirguistão",
            "Кыргызстан",
            "قيرغيزستان",
            "吉尔吉斯斯坦",
        ],
    ),
    (
        "KH",
        [
            "Cambodia",
            "Cambodge",
            "Camboja",
            "Камбоджа",
            "كمبوديا",
            "柬埔寨",
        ],
    ),
    (
        "KR",
        [
            "Republic of Korea",
            "République de Corée",
            "República da Coreia",
            "Республика Корея",
            "جمهورية كوريا",
            "大韩民国",
        ],
    ),
    (
        "KZ",
        [
            "Kazakhstan",
            "Kazakhstan",
            "Cazaquistão",
            "Казахстан",
            "كازاخستان",
            "哈萨克斯坦",
        ],
    ),
    (
        "LA",
        [
            "Lao People's Democratic Republic",
            "République démocratique populaire lao",
            "República Democrática Popular do Laos",
            "Лаосская Народно-Демократическая Республика",
            "جمهورية لاو الديمقراطية الشعبية",
            "老挝人民民主共和国",
        ],
    ),
    (
        "LB",
        ["Lebanon", "Liban", "Líbano", "Ливан", "لبنان", "黎巴嫩"],
    ),
    (
        "LK",
        [
            "Sri Lanka",
            "Sri Lanka",
            "Sri Lanka",
            "Шри-Ланка",
            "سري لانكا",
            "斯里兰卡",
        ],
    ),
    (
        "LR",
        [
            "Liberia",
            "Libéria",
            "Libéria",
            "Либерия",
            "ليبريا",
            "利比里亚",
        ],
    ),
    (
        "LS",
        ["Lesotho", "Lesotho", "Lesoto", "Лесото", "ليسوتو", "莱索托"],
    ),
    ("ML", ["Mali", "Mali", "Mali", "Мали", "مالي", "马里"]),
    (
        "MU",
        [
            "Mauritius",
            "Maurice",
            "Maurícia",
            "Маврикий",
            "موريشيوس",
            "毛里求斯",
        ],
    ),
    (
        "MX",
        [
            "Mexico",
            "Mexique",
            "México",
            "Мексика",
            "المكسيك",
            "墨西哥",
        ],
    ),
    (
        "MY",
        [
            "Malaysia",
            "Malaisie",
            "Malásia",
            "Малайзия",
            "ماليزيا",
            "马来西亚",
        ],
    ),
    (
        "MZ",
        [
            "Mozambique",
            "Mozambique",
            "Moçambique",
            "Мозамбик",
            "موزامبيق",
            "莫桑比克",
        ],
    ),
    (
        "NA",
        [
            "Namibia",
            "Namibie",
            "Namíbia",
            "Намибия",
            "ناميبيا",
            "纳米比亚",
        ],
    ),
    (
        "NO",
        [
            "Norway",
            "Norvège",
            "Noruega",
            "Норвегия",
            "النرويج",
            "挪威",
        ],
    ),
    (
        "NZ",
        [
            "New Zealand",
            "Nouvelle-Zélande",
            "Nova Zelândia",
            "Новая Зеландия",
            "نيوزيلندا",
            "新西兰",
        ],
    ),
    (
        "PA",
        ["Panama", "Panama", "Panamá", "Панама", "بنما", "巴拿马"],
    ),
    ("QA", ["Qatar", "Qatar", "Catar", "Катар", "قطر", "卡塔尔"]),
    (
        "RU",
        [
            "Russian Federation",
            "Fédération de Russie",
            "Federação Russa",
            "Российская Федерация",
            "الاتحاد الروسي",
            "俄罗斯联邦",
        ],
    ),
    (
        "SG",
        [
            "Singapore",
            "Singapour",
            "Singapura",
            "Сингапур",
            "سنغافورة",
            "新加坡",
        ],
    ),
    (
        "SL",
        [
            "Sierra Leone",
            "Sierra Leone",
            "Serra Leoa",
            "Сьерра-Леоне",
            "سيراليون",
            "塞拉利昂",
        ],
    ),
    (
        "SZ",
        [
            "Eswatini",
            "Eswatini",
            "Essuatíni",
            "Эсватини",
            "إسواتيني",
            "斯威士兰",
        ],
    ),
    ("TG", ["Togo", "Togo", "Togo", "Того", "توغو", "多哥"]),
    (
        "TH",
        [
            "Thailand",
            "Thaïlande",
            "Tailândia",
            "Таиланд",
            "تايلند",
            "泰国",
        ],
    ),
    (
        "TR",
        ["Türkiye", "Türkiye", "Turquia", "Турция", "تركيا", "土耳其"],
    ),
    (
        "TW",
        [
            "Chinese Taipei",
            "Taipei chinois",
            "Taipé Chinês",
            "Китайский Тайбэй",
            "تايبيه الصينية",
            "中华台北",
        ],
    ),
    (
        "TZ",
        [
            "Tanzania",
            "Tanzanie",
            "Tanzânia",
            "Танзания",
            "تنزانيا",
            "坦桑尼亚",
        ],
    ),
    (
        "UA",
        [
            "Ukraine",
            "Ukraine",
            "Ucrânia",
            "Украина",
            "أوكرانيا",
            "乌克兰",
        ],
    ),
    (
        "US",
        [
            "United States of America",
            "États-Unis d'Amérique",
            "Estados Unidos da América",
            "Соединенные Штаты Америки",
            "الولايات المتحدة الأمريكية",
            "美国",
        ],
    ),
    (
        "UZ",
        [
            "Uzbekistan",
            "Ouzbékistan",
            "Usbequistão",
            "Узбекистан",
            "أوزبكستان",
            "乌兹别克斯坦",
        ],
    ),
    (
        "VE",
        [
            "Venezuela",
            "Venezuela",
            "Venezuela",
            "Венесуэла",
            "فنزويلا",
            "委内瑞拉",
        ],
    ),
    (
        "VN",
        [
            "Viet Nam",
            "Viet Nam",
            "Vietname",
            "Вьетнам",
            "فييت نام",
            "越南",
        ],
    ),
    (
        "ZA",
        [
            "South Africa",
            "Afrique du Sud",
            "África do Sul",
            "Южная Африка",
            "جنوب أفريقيا",
            "南非",
        ],
    ),
    (
        "ZW",
        [
            "Zimbabwe",
            "Zimbabwe",
            "Zimbabué",
            "Зимбабве",
            "زمبابوي",
            "津巴布韦",
        ],
    ),
];

/// The words of ledger vocabularies the pages show (kinds of documents and measures, deciding
/// bodies, origins, audit levels), by language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    /// a document kind: a decision.
    DocDecision,
    /// a document kind: minutes of a meeting.
    DocMinutes,
    /// a document kind: a report.
    DocReport,
    /// a document kind: a review visit's report.
    DocVisitReport,
    /// a document kind: a monitoring report.
    DocMonitoringReport,
    /// a document kind: evidence.
    DocEvidence,
    /// a document kind: other.
    DocOther,
    /// a trade measure: an embargo.
    Embargo,
    /// a trade measure: national sanctions.
    NationalSanctions,
    /// who decided: the Plenary.
    Plenary,
    /// who decided: written procedure.
    WrittenProcedure,
    /// who decided: the Chair.
    Chair,
    /// a mixed origin.
    Mixed,
    /// a mixed origin whose countries are not stated.
    NotStated,
    /// an audit of the public entries.
    AuditPublic,
    /// an audit of every record too.
    AuditFull,
    /// a participant's rehabilitation case.
    CaseFile,
    /// The note on when a year's figures are published.
    PublishedNote,
}

impl Word {
    /// Every word.
    pub const ALL: [Word; 18] = [
        Word::DocDecision,
        Word::DocMinutes,
        Word::DocReport,
        Word::DocVisitReport,
        Word::DocMonitoringReport,
        Word::DocEvidence,
        Word::DocOther,
        Word::Embargo,
        Word::NationalSanctions,
        Word::Plenary,
        Word::WrittenProcedure,
        Word::Chair,
        Word::Mixed,
        Word::NotStated,
        Word::AuditPublic,
        Word::AuditFull,
        Word::CaseFile,
        Word::PublishedNote,
    ];
}

impl Lang {
    /// `word` in this language.
    pub fn word(self, word: Word) -> &'static str {
        match (self, word) {
            (Lang::En, Word::DocDecision) => "Decision",
            (Lang::Fr, Word::DocDecision) => "Décision",
            (Lang::Pt, Word::DocDecision) => "Decisão",
            (Lang::Ru, Word::DocDecision) => "Решение",
            (Lang::Ar, Word::DocDecision) => "قرار",
            (Lang::Zh, Word::DocDecision) => "决定",
            (Lang::En, Word::DocMinutes) => "Minutes",
            (Lang::Fr, Word::DocMinutes) => "Procès-verbal",
            (Lang::Pt, Word::DocMinutes) => "Ata",
            (Lang::Ru, Word::DocMinutes) => "Протокол",
            (Lang::Ar, Word::DocMinutes) => "محضر",
            (Lang::Zh, Word::DocMinutes) => "会议记录",
            (Lang::En, Word::DocReport) => "Report",
            (Lang::Fr, Word::DocReport) => "Rapport",
            (Lang::Pt, Word::DocReport) => "Relatório",
            (Lang::Ru, Word::DocReport) => "Доклад",
            (Lang::Ar, Word::DocReport) => "تقرير",
            (Lang::Zh, Word::DocReport) => "报告",
            (Lang::En, Word::DocVisitReport) => "Review visit report",
            (Lang::Fr, Word::DocVisitReport) => "Rapport de visite d'examen",
            (Lang::Pt, Word::DocVisitReport) => "Relatório de visita de avaliação",
            (Lang::Ru, Word::DocVisitReport) => "Доклад о проверочном визите",
            (Lang::Ar, Word::DocVisitReport) => "تقرير زيارة استعراضية",
            (Lang::Zh, Word::DocVisitReport) => "审查访问报告",
            (Lang::En, Word::DocMonitoringReport) => "Monitoring report",
            (Lang::Fr, Word::DocMonitoringReport) => "Rapport de suivi",
            (Lang::Pt, Word::DocMonitoringReport) => "Relatório de monitorização",
            (Lang::Ru, Word::DocMonitoringReport) => "Доклад о мониторинге",
            (Lang::Ar, Word::DocMonitoringReport) => "تقرير رصد",
            (Lang::Zh, Word::DocMonitoringReport) => "监测报告",
            (Lang::En, Word::DocEvidence) => "Evidence",
            (Lang::Fr, Word::DocEvidence) => "Pièce justificative",
            (Lang::Pt, Word::DocEvidence) => "Prova documental",
            (Lang::Ru, Word::DocEvidence) => "Подтверждающий документ",
            (Lang::Ar, Word::DocEvidence) => "مستند إثبات",
            (Lang::Zh, Word::DocEvidence) => "证明材料",
            (Lang::En, Word::DocOther) => "Other",
            (Lang::Fr, Word::DocOther) => "Autre",
            (Lang::Pt, Word::DocOther) => "Outro",
            (Lang::Ru, Word::DocOther) => "Прочее",
            (Lang::Ar, Word::DocOther) => "أخرى",
            (Lang::Zh, Word::DocOther) => "其他",
            (Lang::En, Word::Embargo) => "Embargo",
            (Lang::Fr, Word::Embargo) => "Embargo",
            (Lang::Pt, Word::Embargo) => "Embargo",
            (Lang::Ru, Word::Embargo) => "Эмбарго",
            (Lang::Ar, Word::Embargo) => "حظر",
            (Lang::Zh, Word::Embargo) => "禁运",
            (Lang::En, Word::NationalSanctions) => "National sanctions",
            (Lang::Fr, Word::NationalSanctions) => "Sanctions nationales",
            (Lang::Pt, Word::NationalSanctions) => "Sanções nacionais",
            (Lang::Ru, Word::NationalSanctions) => "Национальные санкции",
            (Lang::Ar, Word::NationalSanctions) => "عقوبات وطنية",
            (Lang::Zh, Word::NationalSanctions) => "国家制裁",
            (Lang::En, Word::Plenary) => "the Plenary",
            (Lang::Fr, Word::Plenary) => "la Plénière",
            (Lang::Pt, Word::Plenary) => "a Plenária",
            (Lang::Ru, Word::Plenary) => "Пленарное заседание",
            (Lang::Ar, Word::Plenary) => "الاجتماع العام",
            (Lang::Zh, Word::Plenary) => "全体会议",
            (Lang::En, Word::WrittenProcedure) => "written procedure",
            (Lang::Fr, Word::WrittenProcedure) => "procédure écrite",
            (Lang::Pt, Word::WrittenProcedure) => "procedimento escrito",
            (Lang::Ru, Word::WrittenProcedure) => "письменная процедура",
            (Lang::Ar, Word::WrittenProcedure) => "إجراء كتابي",
            (Lang::Zh, Word::WrittenProcedure) => "书面程序",
            (Lang::En, Word::Chair) => "the Chair",
            (Lang::Fr, Word::Chair) => "la présidence",
            (Lang::Pt, Word::Chair) => "a Presidência",
            (Lang::Ru, Word::Chair) => "Председатель",
            (Lang::Ar, Word::Chair) => "الرئاسة",
            (Lang::Zh, Word::Chair) => "主席",
            (Lang::En, Word::Mixed) => "mixed",
            (Lang::Fr, Word::Mixed) => "mixte",
            (Lang::Pt, Word::Mixed) => "misto",
            (Lang::Ru, Word::Mixed) => "смешанное",
            (Lang::Ar, Word::Mixed) => "مختلط",
            (Lang::Zh, Word::Mixed) => "混合",
            (Lang::En, Word::NotStated) => "countries not stated",
            (Lang::Fr, Word::NotStated) => "pays non indiqués",
            (Lang::Pt, Word::NotStated) => "países não indicados",
            (Lang::Ru, Word::NotStated) => "страны не указаны",
            (Lang::Ar, Word::NotStated) => "البلدان غير مذكورة",
            (Lang::Zh, Word::NotStated) => "未注明国家",
            (Lang::En, Word::AuditPublic) => "public entries",
            (Lang::Fr, Word::AuditPublic) => "entrées publiques",
            (Lang::Pt, Word::AuditPublic) => "entradas públicas",
            (Lang::Ru, Word::AuditPublic) => "открытые записи",
            (Lang::Ar, Word::AuditPublic) => "القيود العامة",
            (Lang::Zh, Word::AuditPublic) => "公开条目",
            (Lang::En, Word::AuditFull) => "full, with every record",
            (Lang::Fr, Word::AuditFull) => "complet, avec chaque dossier",
            (Lang::Pt, Word::AuditFull) => "completa, com cada registo",
            (Lang::Ru, Word::AuditFull) => "полный, со всеми записями",
            (Lang::Ar, Word::AuditFull) => "كامل، مع كل سجل",
            (Lang::Zh, Word::AuditFull) => "完整，含全部记录",
            (Lang::En, Word::CaseFile) => "Rehabilitation case",
            (Lang::Fr, Word::CaseFile) => "Dossier de réhabilitation",
            (Lang::Pt, Word::CaseFile) => "Processo de reabilitação",
            (Lang::Ru, Word::CaseFile) => "Дело о восстановлении",
            (Lang::Ar, Word::CaseFile) => "ملف إعادة التأهيل",
            (Lang::Zh, Word::CaseFile) => "恢复案卷",
            (Lang::En, Word::PublishedNote) => "A year's figures are published from April 1 of the next year, as the ledger recorded them by March 31.",
            (Lang::Fr, Word::PublishedNote) => "Les chiffres d'une année sont publiés à partir du 1er avril de l'année suivante, tels que le registre les avait enregistrés au 31 mars.",
            (Lang::Pt, Word::PublishedNote) => "Os números de um ano são publicados a partir de 1 de abril do ano seguinte, tal como o registo os tinha registado a 31 de março.",
            (Lang::Ru, Word::PublishedNote) => "Данные за год публикуются с 1 апреля следующего года в том виде, в каком реестр записал их к 31 марта.",
            (Lang::Ar, Word::PublishedNote) => "تُنشر أرقام كل سنة اعتبارًا من 1 أبريل من السنة التالية، كما سجلها السجل حتى 31 مارس.",
            (Lang::Zh, Word::PublishedNote) => "每年的数据自次年4月1日起公布，以登记册截至3月31日的记录为准。",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTICIPANTS_CSV: &str = include_str!("../../data/participants.csv");

    /// (code, English name) of every row of data/participants.csv.
    fn participants() -> Vec<(&'static str, &'static str)> {
        let rows: Vec<_> = PARTICIPANTS_CSV
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter(|line| *line != "code,name,region,kind")
            .map(|line| {
                let mut columns = line.split(',');
                let code = columns.next().unwrap();
                let name = columns.next().expect("a name column");
                (code, name)
            })
            .collect();
        assert!(rows.len() > 50, "participants.csv has {} rows", rows.len());
        rows
    }

    fn negotiate(header: &str) -> Lang {
        Lang::negotiate(Some(header))
    }

    #[test]
    fn codes_round_trip() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
            assert_eq!(Lang::ALL[lang.index()], lang);
        }
        assert_eq!(Lang::parse("FR"), Some(Lang::Fr));
        assert_eq!(Lang::parse("zh-hans"), Some(Lang::Zh));
        assert_eq!(Lang::parse("zh-Hant-TW"), Some(Lang::Zh));
        assert_eq!(Lang::parse("pt-br"), Some(Lang::Pt));
        assert_eq!(Lang::parse("pt-BR"), Some(Lang::Pt));
        assert_eq!(Lang::parse("Ar-EG"), Some(Lang::Ar));
        for bad in [
            "", "e", "eng", "de", "fr-", "-fr", "fr--CA", "fr_CA", " fr", "fr ", "*",
        ] {
            assert_eq!(Lang::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Lang::parse("fr-abcdefghi"), None);
    }

    #[test]
    fn native_names_and_direction() {
        let names: Vec<_> = Lang::ALL.iter().map(|l| l.native_name()).collect();
        assert_eq!(
            names,
            [
                "English",
                "Français",
                "Português",
                "Русский",
                "العربية",
                "中文"
            ]
        );
        assert_eq!(Lang::Ar.dir(), "rtl");
        for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::Ar) {
            assert_eq!(lang.dir(), "ltr");
        }
    }

    #[test]
    fn negotiate_by_quality() {
        assert_eq!(negotiate("fr"), Lang::Fr);
        assert_eq!(negotiate("de, fr;q=0.5, ru;q=0.8"), Lang::Ru);
        assert_eq!(negotiate("en;q=0.1, ar;q=0.9, zh;q=0.95"), Lang::Zh);
        assert_eq!(negotiate("fr;q=0.001, en;q=0"), Lang::Fr);
        assert_eq!(negotiate("ru;q=1.000, fr"), Lang::Ru);
        assert_eq!(negotiate("ru;Q=0.7, pt;q=0.75"), Lang::Pt);
        assert_eq!(negotiate("ru ; q=0.7 ,\tpt\t;\tq=0.6"), Lang::Ru);
        assert_eq!(negotiate("de-DE,de;q=0.9,ar-SA;q=0.8,en;q=0.7"), Lang::Ar);
    }

    #[test]
    fn negotiate_ties_go_to_the_first() {
        assert_eq!(negotiate("pt, fr"), Lang::Pt);
        assert_eq!(negotiate("fr;q=0.5, pt;q=0.5"), Lang::Fr);
        assert_eq!(negotiate("de;q=0.9, ru;q=0.5, zh;q=0.500"), Lang::Ru);
        assert_eq!(negotiate("ar;q=1, en"), Lang::Ar);
    }

    #[test]
    fn negotiate_q_zero_excludes() {
        assert_eq!(negotiate("fr;q=0"), Lang::En);
        assert_eq!(negotiate("fr;q=0.000, ru;q=0.1"), Lang::Ru);
        assert_eq!(negotiate("zh;q=0., ar;q=0.2"), Lang::Ar);
        assert_eq!(negotiate("*;q=0, fr;q=0.3"), Lang::Fr);
    }

    #[test]
    fn negotiate_by_primary_subtag() {
        assert_eq!(negotiate("fr-CA"), Lang::Fr);
        assert_eq!(negotiate("zh-Hans-CN"), Lang::Zh);
        assert_eq!(negotiate("zh-TW,zh;q=0.9"), Lang::Zh);
        assert_eq!(negotiate("pt-BR"), Lang::Pt);
        assert_eq!(negotiate("RU-ru"), Lang::Ru);
        assert_eq!(negotiate("ar-001"), Lang::Ar);
        assert_eq!(negotiate("de-CH, fr-CH;q=0.8"), Lang::Fr);
    }

    #[test]
    fn negotiate_star_is_english() {
        assert_eq!(negotiate("*"), Lang::En);
        assert_eq!(negotiate("de, *;q=0.5, fr;q=0.4"), Lang::En);
        assert_eq!(negotiate("fr;q=0.9, *;q=0.5"), Lang::Fr);
    }

    #[test]
    fn negotiate_skips_malformed_parts() {
        for header in [
            "fr;q=2, ru",
            "fr;q=1.5, ru",
            "fr;q=0.1234, ru",
            "fr;q=.5, ru",
            "fr;q=, ru",
            "fr;q = 0.5, ru;q=0.1",
            "fr;level=1, ru;q=0.1",
            "fr;q=0.9;q=0.8, ru;q=0.1",
            "f@r, ru;q=0.1",
            "fr-, ru;q=0.1",
            "français, ru;q=0.1",
            "fr;q=-0.5, ru;q=0.1",
            "fr;q=0x1, ru;q=0.1",
            "fr;q=0,5, ru;q=0.1",
        ] {
            assert_eq!(negotiate(header), Lang::Ru, "{header:?}");
        }
    }

    #[test]
    fn negotiate_falls_back_to_english() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        for header in [
            "",
            " ",
            ",",
            ",,,;;;",
            "de",
            "de-DE, es;q=0.9, ja;q=0.8",
            ";q=1",
            "q=1",
            "\u{0}",
            "fr\u{0}",
            "zh\u{00a0}",
            "ру, 中文",
            "\u{fffd}\u{fffd}",
            "=;=;=,=",
        ] {
            assert_eq!(negotiate(header), Lang::En, "{header:?}");
        }
    }

    #[test]
    fn negotiate_is_bounded() {
        // 5000 bytes: too long, English even though French is asked for.
        let long = format!("fr,{}", "x".repeat(4997));
        assert_eq!(long.len(), 5000);
        assert_eq!(negotiate(&long), Lang::En);
        let long = "fr;q=0.9, ".repeat(500);
        assert_eq!(long.len(), 5000);
        assert_eq!(negotiate(&long), Lang::En);
        // Exactly 1000 bytes is still read.
        let edge = format!("ru{}", " ".repeat(998));
        assert_eq!(edge.len(), 1000);
        assert_eq!(negotiate(&edge), Lang::Ru);
        assert_eq!(negotiate(&format!("{edge} ")), Lang::En);
        // Only the first 32 parts count.
        let parts = format!("{}fr", "de,".repeat(31));
        assert_eq!(negotiate(&parts), Lang::Fr);
        let parts = format!("{}fr", "de,".repeat(32));
        assert_eq!(negotiate(&parts), Lang::En);
        let parts = format!("{}ar", ",".repeat(40));
        assert_eq!(negotiate(&parts), Lang::En);
    }

    #[test]
    fn negotiate_never_panics() {
        // Every short string over a small alphabet of the header's characters.
        let alphabet = [
            "f", "r", "z", "h", "-", ";", "q", "=", "0", "1", ".", ",", "*", " ", "é",
        ];
        let mut inputs = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|prefix| alphabet.iter().map(move |c| format!("{prefix}{c}")))
                .collect();
            inputs.extend(level.iter().cloned());
        }
        for input in &inputs {
            let _ = Lang::negotiate(Some(input));
            let _ = Lang::parse(input);
            for lang in Lang::ALL {
                let _ = lang.group(input);
            }
        }
    }

    #[test]
    fn group_english_chinese_arabic() {
        for lang in [Lang::En, Lang::Zh, Lang::Ar] {
            assert_eq!(lang.group("1234567.89"), "1,234,567.89");
            assert_eq!(lang.group("-1234.5"), "-1,234.5");
            assert_eq!(lang.group("0.00"), "0.00");
            assert_eq!(lang.group("12"), "12");
            assert_eq!(lang.group("123"), "123");
            assert_eq!(lang.group("1000"), "1,000");
            assert_eq!(lang.group("-100000"), "-100,000");
            assert_eq!(lang.group("1234567890.123456"), "1,234,567,890.123456");
        }
    }

    #[test]
    fn group_french() {
        assert_eq!(Lang::Fr.group("1234567.89"), "1\u{202f}234\u{202f}567,89");
        assert_eq!(Lang::Fr.group("-1234.5"), "-1\u{202f}234,5");
        assert_eq!(Lang::Fr.group("0.00"), "0,00");
        assert_eq!(Lang::Fr.group("12"), "12");
        assert_eq!(Lang::Fr.group("999999"), "999\u{202f}999");
    }

    #[test]
    fn group_portuguese() {
        assert_eq!(Lang::Pt.group("1234567.89"), "1.234.567,89");
        assert_eq!(Lang::Pt.group("-1234.5"), "-1.234,5");
        assert_eq!(Lang::Pt.group("0.00"), "0,00");
        assert_eq!(Lang::Pt.group("12"), "12");
        assert_eq!(Lang::Pt.group("12345"), "12.345");
    }

    #[test]
    fn group_russian() {
        assert_eq!(Lang::Ru.group("1234567.89"), "1\u{a0}234\u{a0}567,89");
        assert_eq!(Lang::Ru.group("-1234.5"), "-1\u{a0}234,5");
        assert_eq!(Lang::Ru.group("0.00"), "0,00");
        assert_eq!(Lang::Ru.group("12"), "12");
        assert_eq!(Lang::Ru.group("-7"), "-7");
    }

    #[test]
    fn group_leaves_other_input_unchanged() {
        for lang in Lang::ALL {
            for input in [
                "",
                "-",
                ".",
                "-.",
                ".5",
                "-.5",
                "12.",
                "1.2.3",
                "+12",
                "1,234",
                "1 234",
                "12a",
                "--1",
                "1-2",
                " 12",
                "12 ",
                "１２３４",
                "1e6",
                "NaN",
                "١٢٣٤",
            ] {
                assert_eq!(lang.group(input), input, "{lang:?} {input:?}");
            }
        }
    }

    #[test]
    fn group_int_matches_group() {
        assert_eq!(Lang::En.group_int(0), "0");
        assert_eq!(Lang::En.group_int(999), "999");
        assert_eq!(Lang::En.group_int(1_000), "1,000");
        assert_eq!(Lang::Pt.group_int(1_234_567), "1.234.567");
        assert_eq!(Lang::Fr.group_int(42_000), "42\u{202f}000");
        assert_eq!(Lang::Ru.group_int(42_000), "42\u{a0}000");
        assert_eq!(Lang::Zh.group_int(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn every_participant_has_a_name_in_every_language() {
        for (code, english) in participants() {
            for lang in Lang::ALL {
                let name = lang.country(code);
                assert!(
                    name.is_some_and(|n| !n.trim().is_empty()),
                    "{lang:?} has no name for {code}"
                );
            }
            assert_eq!(Lang::En.country(code), Some(english), "{code}");
            assert_eq!(
                Lang::Fr.country(&code.to_ascii_lowercase()),
                Lang::Fr.country(code)
            );
        }
    }

    #[test]
    fn names_exactly_the_participants() {
        let codes: Vec<_> = participants().into_iter().map(|(code, _)| code).collect();
        assert_eq!(codes.len(), COUNTRIES.len());
        for (code, names) in &COUNTRIES {
            assert!(codes.contains(code), "{code} is not in participants.csv");
            for name in names {
                assert_eq!(name.trim(), *name, "{code}");
            }
        }
        for pair in COUNTRIES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for lang in Lang::ALL {
            let mut names: Vec<_> = COUNTRIES.iter().map(|(_, n)| n[lang.index()]).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), COUNTRIES.len(), "{lang:?} repeats a name");
        }
        for lang in Lang::ALL {
            for code in ["", "XX", "E", "EUR", "SU", "AN"] {
                assert_eq!(lang.country(code), None, "{code:?}");
            }
        }
        assert_eq!(Lang::Fr.country("CI"), Some("Côte d'Ivoire"));
        assert_eq!(Lang::Zh.country("TW"), Some("中华台北"));
        assert_eq!(Lang::Ar.country("EU"), Some("الاتحاد الأوروبي"));
        assert_eq!(Lang::Ru.country("SZ"), Some("Эсватини"));
        assert_eq!(Lang::Pt.country("TW"), Some("Taipé Chinês"));
    }

    #[test]
    fn every_message_is_present_in_every_language() {
        for lang in Lang::ALL {
            let texts = lang.texts();
            for (i, text) in texts.all().into_iter().enumerate() {
                assert!(!text.trim().is_empty(), "{lang:?} message {i} is empty");
                assert_eq!(text.trim(), text, "{lang:?} message {i} has outer spaces");
                assert!(
                    !text.contains("  "),
                    "{lang:?} message {i} has a double space"
                );
                assert!(
                    !text.contains(['{', '}', '\n', '\t']),
                    "{lang:?} message {i}"
                );
            }
            assert!(!texts.site_title.is_empty());
            assert!(!texts.verdict_unknown_advice.is_empty());
            assert!(!texts.footer.is_empty());
        }
        assert_eq!(EN.all()[0], EN.site_title);
        assert_eq!(EN.all()[Texts::COUNT - 1], EN.footer);
    }

    #[test]
    fn messages_are_translated() {
        // Words that stay the same in a language are rare: most messages must differ from
        // English, and the catalog of each language is its own.
        let english = EN.all();
        for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
            let same = lang
                .texts()
                .all()
                .iter()
                .zip(english)
                .filter(|(t, e)| **t == *e)
                .count();
            assert!(same <= 8, "{lang:?}: {same} messages identical to English");
        }
        assert_eq!(
            Lang::Fr.texts().home_title,
            "Système de certification du Processus de Kimberley"
        );
        assert_eq!(
            Lang::Pt.texts().home_title,
            "Sistema de Certificação do Processo de Kimberley"
        );
        assert_eq!(
            Lang::Ru.texts().home_title,
            "Схема сертификации Кимберлийского процесса"
        );
        assert_eq!(Lang::Ar.texts().home_title, "نظام شهادات عملية كيمبرلي");
        assert_eq!(Lang::Zh.texts().home_title, "金伯利进程证书制度");
    }

    #[test]
    fn every_word_is_there_in_every_language() {
        for lang in Lang::ALL {
            for w in Word::ALL {
                assert!(!lang.word(w).is_empty(), "{lang:?} {w:?}");
            }
        }
        assert_eq!(Lang::Fr.word(Word::Embargo), "Embargo");
        assert_ne!(Lang::Ar.word(Word::CaseFile), Lang::En.word(Word::CaseFile));
    }
}
