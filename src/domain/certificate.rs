//! KP certificates: what an issuing authority asks for, the rules it must meet, and what is issued.
//!
//! Parse, don't validate: [`CertificateContent::validate`] turns loosely typed input into a
//! content that cannot be invalid, reporting every problem at once with its field path.

use std::fmt::{self, Write as _};

use super::amount::{AmountError, Hundredths};
use super::country::CountryCode;
use super::date::Date;
use super::digits::{decimal_len, put_digits};
use super::lifecycle::{check_citations, citation_problems, Citation, CitationInput};
use crate::crypto::KeyId;

/// One thing wrong with a request: the JSON path of the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    /// A problem at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A field as the wire layer saw it. `Invalid` means the wire layer already reported it (for
/// example a number where a string belongs), so validation skips it without a second problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<T> {
    Missing,
    Invalid,
    Given(T),
}

/// Longest exporter or importer name, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// Longest exporter or importer address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 300;
/// Most parcels in one shipment.
pub const MAX_PARCELS: i64 = 100_000;
/// Most mining countries listed for a mixed origin.
pub const MAX_ORIGIN_COUNTRIES: usize = 60;

/// The three HS codes of rough diamonds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HsCode {
    /// 7102.10, unsorted.
    Unsorted,
    /// 7102.21, industrial.
    Industrial,
    /// 7102.31, non-industrial.
    NonIndustrial,
}

impl HsCode {
    /// The three codes, in order.
    pub const ALL: [HsCode; 3] = [HsCode::Unsorted, HsCode::Industrial, HsCode::NonIndustrial];

    /// Parses `7102.10`, `7102.21` or `7102.31`.
    pub fn parse(s: &str) -> Option<HsCode> {
        match s {
            "7102.10" => Some(HsCode::Unsorted),
            "7102.21" => Some(HsCode::Industrial),
            "7102.31" => Some(HsCode::NonIndustrial),
            _ => None,
        }
    }

    /// The code as written on a certificate.
    pub fn as_str(self) -> &'static str {
        match self {
            HsCode::Unsorted => "7102.10",
            HsCode::Industrial => "7102.21",
            HsCode::NonIndustrial => "7102.31",
        }
    }
}

/// An exporter or importer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address: String,
}

/// Where the diamonds were mined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Unmixed origin: one country.
    Single(CountryCode),
    /// Mixed origin, with the known mining countries (sorted, distinct, possibly none).
    Mixed(Vec<CountryCode>),
}

impl Origin {
    /// Whether the origin is mixed, and the countries it lists (one for an unmixed origin).
    pub fn mixed_and_countries(&self) -> (bool, &[CountryCode]) {
        match self {
            Origin::Single(code) => (false, std::slice::from_ref(code)),
            Origin::Mixed(list) => (true, list),
        }
    }

    /// The origin stated as (mixed, countries), if that statement is canonical: an unmixed
    /// origin names exactly one country, a mixed one lists its countries sorted and distinct.
    pub fn from_parts(mixed: bool, countries: Vec<CountryCode>) -> Option<Origin> {
        match (mixed, countries.len()) {
            (false, 1) => Some(Origin::Single(countries[0])),
            (true, _) if countries.windows(2).all(|w| w[0] < w[1]) => {
                Some(Origin::Mixed(countries))
            }
            _ => None,
        }
    }
}

/// One line of goods: an HS code with its exact weight and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub hs_code: HsCode,
    pub carats: Hundredths,
    pub value_usd: Hundredths,
}

impl Item {
    /// Whether `items` is a canonical list of goods: non-empty, sorted by distinct HS code (so
    /// at most one line per code, three at most).
    pub fn canonical_list(items: &[Item]) -> bool {
        !items.is_empty() && items.windows(2).all(|w| w[0].hs_code < w[1].hs_code)
    }
}

/// What a certificate says about the shipment, validated. Items are sorted by HS code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateContent {
    pub exporter: Party,
    pub importer: Party,
    pub destination: CountryCode,
    pub origin: Origin,
    pub parcels: u32,
    pub items: Vec<Item>,
    pub issued_on: Date,
    pub expires_on: Date,
    /// The certificate this one replaces (set by a replacement, never by the request).
    pub replaces: Option<CertificateNumber>,
    /// Re-export provenance: the import certificates the goods came in under, with the carats
    /// drawn from each; sorted by number. Empty for goods not re-exported.
    pub derived_from: Vec<Citation>,
    /// The approved zone of origin (id), stated by a partially suspended participant.
    pub origin_zone: Option<String>,
    /// The request hash of the monitoring team's prior approval this certificate was issued
    /// under (a partially suspended participant whose terms require one).
    pub approval: Option<crate::crypto::Hash>,
}

impl CertificateContent {
    /// Total carats over all items.
    pub fn total_carats(&self) -> Hundredths {
        sum(self.items.iter().map(|i| i.carats))
    }
}

/// Who issued a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer {
    pub participant: CountryCode,
    pub authority_id: String,
    pub authority_name: String,
    pub key_id: KeyId,
}

/// Bytes of a certificate's salt.
pub const SALT_BYTES: usize = 16;

/// An issued certificate: its number, its issuer, its content, and a random salt that makes its
/// hash (the public ledger's commitment to it) impossible to confirm by guessing the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub number: CertificateNumber,
    pub issuer: Issuer,
    pub content: CertificateContent,
    pub salt: [u8; SALT_BYTES],
}

impl Certificate {
    /// Total carats over all items.
    pub fn total_carats(&self) -> Hundredths {
        self.content.total_carats()
    }

    /// Total US dollar value over all items.
    pub fn total_value_usd(&self) -> Hundredths {
        sum(self.content.items.iter().map(|i| i.value_usd))
    }
}

fn sum(values: impl Iterator<Item = Hundredths>) -> Hundredths {
    // At most three items, each below 10^15 units: the sum cannot overflow a u64 of hundredths.
    values.fold(Hundredths::default(), |a, b| {
        a.checked_add(b).expect("bounded sum")
    })
}

/// A certificate number: `<participant>-<year>-<serial>`, e.g. `BW-2026-000042`. The serial
/// counts per participant and year from 1 and is zero-padded to at least six digits.
///
/// The text is kept inline (at most [`CertificateNumber::MAX_CHARS`] ASCII bytes, no heap): the
/// ledger state keys every certificate by its number in a persistent map whose changed nodes
/// are copied on every append, and a copy is then a plain memory copy.
#[derive(Clone)]
pub struct CertificateNumber {
    text: [u8; CertificateNumber::MAX_CHARS],
    len: u8,
    participant: CountryCode,
    year: i64,
    serial: u64,
}

impl fmt::Debug for CertificateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateNumber({:?})", self.as_str())
    }
}

/// Equal exactly when the texts are equal (the text is written from the three parts, and parsed
/// into them).
impl PartialEq for CertificateNumber {
    fn eq(&self, other: &Self) -> bool {
        self.serial == other.serial
            && self.year == other.year
            && self.participant == other.participant
    }
}

impl Eq for CertificateNumber {}

/// Ordered as their texts are.
impl PartialOrd for CertificateNumber {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CertificateNumber {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Hashes the three parts the text is written from (equal numbers have equal parts), not the
/// text: the ledger state keys every certificate by its number, and an audit hashes one per
/// entry.
impl std::hash::Hash for CertificateNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let [a, b] = self.participant.to_bytes();
        state.write_u64(self.serial);
        state.write_u64(((a as u64) << 56) | ((b as u64) << 48) | (self.year as u64 & 0xffff));
    }
}

/// A number's text being written, in a buffer of [`CertificateNumber::MAX_CHARS`] bytes.
#[derive(Default)]
struct Inline {
    bytes: [u8; CertificateNumber::MAX_CHARS],
    len: usize,
}

impl fmt::Write for Inline {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl CertificateNumber {
    /// The longest text `new` writes: two letters, a four-digit year and a serial of up to 20
    /// digits (any u64), with their two dashes. `parse` accepts serials of at most 19 digits.
    pub const MAX_CHARS: usize = 2 + 1 + 4 + 1 + 20;

    /// The number for `serial` (>= 1) of `participant` in `year` (0 to 9999; a year outside
    /// that, which no date of issue has, is taken as the nearest of the two, text and parts
    /// alike, so that they always agree).
    pub fn new(participant: CountryCode, year: i64, serial: u64) -> CertificateNumber {
        debug_assert!(serial >= 1 && (0..=9999).contains(&year));
        let year = year.clamp(0, 9999);
        // The canonical form `PP-YYYY-SSSSSS` (the serial padded to six digits at least),
        // written into the inline buffer digit by digit.
        let digits = decimal_len(serial).max(6);
        let mut text = [0u8; CertificateNumber::MAX_CHARS];
        text[..2].copy_from_slice(&participant.to_bytes());
        text[2] = b'-';
        put_digits(&mut text[3..7], year as u64);
        text[7] = b'-';
        put_digits(&mut text[8..8 + digits], serial);
        CertificateNumber {
            text,
            len: (8 + digits) as u8,
            participant,
            year,
            serial,
        }
    }

    /// Parses a number in canonical form.
    pub fn parse(s: &str) -> Option<CertificateNumber> {
        let mut parts = s.splitn(3, '-');
        let participant = CountryCode::participant(parts.next()?)?;
        let year = parts.next()?;
        let serial = parts.next()?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if serial.len() < 6 || serial.len() > 19 || !serial.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Canonical: what `new` writes, a serial zero-padded to six digits and no more (so no
        // leading zero past the sixth digit). Checked without writing the number out: every
        // ledger entry, seal and scan parses one.
        if serial.len() > 6 && serial.starts_with('0') {
            return None;
        }
        let serial_value: u64 = serial.parse().ok()?;
        if serial_value == 0 {
            return None;
        }
        // Two letters, a dash, four digits, a dash and 6-19 digits: it fits.
        let mut text = Inline::default();
        text.write_str(s).ok()?;
        Some(CertificateNumber {
            text: text.bytes,
            len: text.len as u8,
            participant,
            year: year.parse().ok()?,
            serial: serial_value,
        })
    }

    /// The issuing participant.
    pub fn participant(&self) -> CountryCode {
        self.participant
    }

    /// The year of issue the number carries.
    pub fn year(&self) -> i64 {
        self.year
    }

    /// The serial within the participant and year, from 1.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len as usize]).expect("written as ascii")
    }
}

impl fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Loosely typed exporter or importer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyInput {
    pub name: Input<String>,
    pub address: Input<String>,
}

/// Loosely typed origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginInput {
    pub mixed: Input<bool>,
    pub countries: Input<Vec<Input<String>>>,
}

/// Loosely typed item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemInput {
    pub hs_code: Input<String>,
    pub carats: Input<String>,
    pub value_usd: Input<String>,
}

/// A request to issue, as the wire layer decoded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftInput {
    pub exporter: Input<PartyInput>,
    pub importer: Input<PartyInput>,
    pub destination: Input<String>,
    pub origin: Input<OriginInput>,
    pub parcels: Input<i64>,
    pub items: Input<Vec<Input<ItemInput>>>,
    pub expires_on: Input<String>,
    pub derived_from: Input<Vec<Input<CitationInput>>>,
    /// The approved zone the goods come from (required of a partially suspended participant).
    pub origin_zone: Input<String>,
    /// SHA-256 of the request as sent, set by the wire layer (never by the request): what a
    /// monitoring team's prior approval names.
    pub request_hash: Option<crate::crypto::Hash>,
}

/// The issuing side of a validation: who issues, on which day, under which validity policy, and
/// which codes are KP participants that may receive the shipment.
pub struct IssuePolicy<'a> {
    pub issuer: CountryCode,
    pub issued_on: Date,
    pub default_validity_days: u32,
    pub max_validity_days: u32,
    pub is_participant: &'a dyn Fn(CountryCode) -> bool,
}

// The rules. Each is written once and used twice: by [`CertificateContent::validate`] on what an
// authority sends, and by [`CertificateContent::problems`] on what the ledger records (the audit judges
// a recorded certificate by the rules of issuance).

/// Characters that are invisible or reorder the text around them: bidirectional controls,
/// zero-width characters, fillers, line and paragraph separators, the byte order mark, tags and
/// variation selectors. A name made of them, or reversed by them, reads like another on a page.
fn invisible_or_reordering(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// A text as it is signed: Unicode normalization form C (composed), so that one name has one
/// encoding.
pub fn normalized(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    // ASCII text is already in form C (most names and addresses): skip the composition.
    if s.is_ascii() {
        return s.to_owned();
    }
    s.nfc().collect()
}

/// A name, address or other text of the ledger: not blank, at most `max` characters, no
/// surrounding white space, no control, invisible or text-direction characters, and in Unicode
/// normalization form C.
pub(crate) fn text_rule(s: &str, max: usize) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if s.trim() != s {
        return Err("must not start or end with white space".into());
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(c) = s.chars().find(|&c| invisible_or_reordering(c)) {
        return Err(format!(
            "must not contain invisible or text-direction characters (U+{:04X})",
            c as u32
        ));
    }
    if !s.is_ascii() && !unicode_normalization::is_nfc(s) {
        return Err("must be in Unicode normalization form C".into());
    }
    Ok(())
}

fn origin_zone_rule(s: &str) -> Result<(), String> {
    text_rule(s, super::standing::MAX_REFERENCE_CHARS)
}

fn parcels_rule(n: i64) -> Result<(), String> {
    if (1..=MAX_PARCELS).contains(&n) {
        Ok(())
    } else {
        Err(format!("must be between 1 and {MAX_PARCELS}"))
    }
}

fn destination_rule(code: CountryCode, policy: &IssuePolicy<'_>) -> Result<(), String> {
    if !(policy.is_participant)(code) {
        let hint = if code.is_eu_member_state() {
            " (EU member states take part as one participant: use EU)"
        } else {
            ""
        };
        return Err(format!(
            "{code} is not a Kimberley Process participant{hint}"
        ));
    }
    if code == policy.issuer {
        return Err("must differ from the issuing participant".into());
    }
    Ok(())
}

fn origin_count_rule(n: usize) -> Result<(), String> {
    if n > MAX_ORIGIN_COUNTRIES {
        Err(format!(
            "must list at most {MAX_ORIGIN_COUNTRIES} countries"
        ))
    } else {
        Ok(())
    }
}

fn carats_rule(carats: Hundredths) -> Result<(), String> {
    if carats.is_zero() {
        Err("must be greater than 0".into())
    } else {
        Ok(())
    }
}

pub(crate) fn expiry_rule(expires_on: Date, policy: &IssuePolicy<'_>) -> Result<(), String> {
    if expires_on <= policy.issued_on {
        return Err(format!("must be after the issue date {}", policy.issued_on));
    }
    if expires_on.days() - policy.issued_on.days() > policy.max_validity_days as i64 {
        return Err(format!(
            "must be within the authority's maximum validity of {} days (at most {})",
            policy.max_validity_days,
            policy
                .issued_on
                .plus_days(policy.max_validity_days as i64)
                .map(|d| d.to_string())
                .unwrap_or_default()
        ));
    }
    Ok(())
}

struct Collector(Vec<Problem>);

impl Collector {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(field, message));
    }

    /// Records the rule's problem at `field`, if any; whether the value passed.
    fn rule(&mut self, field: impl Into<String>, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(message) => {
                self.add(field, message);
                false
            }
        }
    }

    /// [`Collector::rule`] with a field path built only when the rule fails (the audit runs
    /// these rules on every recorded certificate).
    fn rule_lazy(&mut self, field: impl FnOnce() -> String, result: Result<(), String>) {
        if let Err(message) = result {
            self.add(field(), message);
        }
    }

    fn required<'v, T>(&mut self, field: &str, input: &'v Input<T>) -> Option<&'v T> {
        match input {
            Input::Missing => {
                self.add(field, "is required");
                None
            }
            Input::Invalid => None,
            Input::Given(v) => Some(v),
        }
    }
}

fn check_text(c: &mut Collector, field: &str, input: &Input<String>, max: usize) -> Option<String> {
    let s = normalized(c.required(field, input)?);
    c.rule(field, text_rule(&s, max)).then_some(s)
}

fn check_party(c: &mut Collector, field: &str, input: &Input<PartyInput>) -> Option<Party> {
    let p = c.required(field, input)?;
    let name = check_text(c, &format!("{field}.name"), &p.name, MAX_NAME_CHARS);
    let address = check_text(
        c,
        &format!("{field}.address"),
        &p.address,
        MAX_ADDRESS_CHARS,
    );
    Some(Party {
        name: name?,
        address: address?,
    })
}

fn check_origin(c: &mut Collector, input: &Input<OriginInput>) -> Option<Origin> {
    let o = c.required("origin", input)?;
    let mixed = match &o.mixed {
        Input::Missing => Some(false),
        Input::Invalid => None,
        Input::Given(m) => Some(*m),
    };
    let list = c.required("origin.countries", &o.countries)?;
    let mut codes = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, code) in list.iter().enumerate() {
        let field = format!("origin.countries[{i}]");
        match code {
            Input::Given(s) => match CountryCode::country(s) {
                Some(cc) if codes.contains(&cc) => {
                    c.add(field, format!("{s} is listed twice"));
                    ok = false;
                }
                Some(cc) => codes.push(cc),
                None => {
                    c.add(
                        field,
                        format!("{s:?} is not an ISO 3166-1 alpha-2 country code"),
                    );
                    ok = false;
                }
            },
            _ => ok = false,
        }
    }
    ok &= c.rule("origin.countries", origin_count_rule(list.len()));
    let mixed = mixed?;
    if !mixed && list.len() != 1 {
        c.add(
            "origin.countries",
            "an unmixed origin names exactly one country; set \"mixed\": true for mixed origin",
        );
        return None;
    }
    if !ok {
        return None;
    }
    codes.sort();
    Some(if mixed {
        Origin::Mixed(codes)
    } else {
        Origin::Single(codes[0])
    })
}

fn check_amount(c: &mut Collector, field: String, input: &Input<String>) -> Option<Hundredths> {
    let s = c.required(&field, input)?;
    match Hundredths::parse(s) {
        Ok(h) => Some(h),
        Err(e @ (AmountError::Syntax | AmountError::TooManyDecimals | AmountError::TooLarge)) => {
            c.add(field, e.to_string());
            None
        }
    }
}

fn check_items(c: &mut Collector, input: &Input<Vec<Input<ItemInput>>>) -> Option<Vec<Item>> {
    let list = c.required("items", input)?;
    if list.is_empty() {
        c.add("items", "must hold at least one item");
        return None;
    }
    let mut items: Vec<Item> = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        let field = format!("items[{i}]");
        let Some(item) = c.required(&field, item) else {
            ok = false;
            continue;
        };
        let hs = c
            .required(&format!("{field}.hs_code"), &item.hs_code)
            .and_then(|s| {
                let code = HsCode::parse(s);
                if code.is_none() {
                    c.add(
                        format!("{field}.hs_code"),
                        format!(
                            "{s:?} is not a rough-diamond HS code (7102.10, 7102.21 or 7102.31)"
                        ),
                    );
                }
                code
            });
        if let Some(code) = hs {
            if items.iter().any(|it| it.hs_code == code) {
                c.add(
                    format!("{field}.hs_code"),
                    format!("{} appears more than once", code.as_str()),
                );
                ok = false;
            }
        }
        let carats = check_amount(c, format!("{field}.carats"), &item.carats);
        if let Some(ct) = carats {
            ok &= c.rule(format!("{field}.carats"), carats_rule(ct));
        }
        let value = check_amount(c, format!("{field}.value_usd"), &item.value_usd);
        match (hs, carats, value) {
            (Some(hs_code), Some(carats), Some(value_usd)) => items.push(Item {
                hs_code,
                carats,
                value_usd,
            }),
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    items.sort_by_key(|i| i.hs_code);
    Some(items)
}

impl CertificateContent {
    /// Checks every rule and returns the content, or every problem found.
    pub fn validate(
        input: &DraftInput,
        policy: &IssuePolicy<'_>,
    ) -> Result<CertificateContent, Vec<Problem>> {
        let mut c = Collector(Vec::new());
        let exporter = check_party(&mut c, "exporter", &input.exporter);
        let importer = check_party(&mut c, "importer", &input.importer);

        let destination = c.required("destination", &input.destination).and_then(|s| {
            let Some(code) = CountryCode::participant(s) else {
                c.add(
                    "destination",
                    format!("{s:?} is not an ISO 3166-1 alpha-2 code"),
                );
                return None;
            };
            c.rule("destination", destination_rule(code, policy))
                .then_some(code)
        });

        let origin = check_origin(&mut c, &input.origin);

        let parcels = c
            .required("parcels", &input.parcels)
            .and_then(|&n| c.rule("parcels", parcels_rule(n)).then_some(n as u32));

        let items = check_items(&mut c, &input.items);

        let expires_on = match &input.expires_on {
            Input::Missing => policy
                .issued_on
                .plus_days(policy.default_validity_days as i64),
            Input::Invalid => None,
            Input::Given(s) => match Date::parse(s) {
                None => {
                    c.add("expires_on", "must be a calendar date written YYYY-MM-DD");
                    None
                }
                Some(d) => c.rule("expires_on", expiry_rule(d, policy)).then_some(d),
            },
        };

        let origin_zone = match &input.origin_zone {
            Input::Missing | Input::Invalid => None,
            Input::Given(s) => {
                let s = normalized(s.trim());
                c.rule("origin_zone", origin_zone_rule(&s)).then_some(s)
            }
        };

        let derived_from = check_citations(&input.derived_from, &mut c.0);
        if let (Some(items), Some(cited)) = (&items, &derived_from) {
            let total = sum(items.iter().map(|i| i.carats));
            c.0.extend(citation_problems(cited, total, policy.issuer));
        }

        if !c.0.is_empty() {
            return Err(c.0);
        }
        let Some(derived_from) = derived_from else {
            return Err(Vec::new());
        };
        match (
            exporter,
            importer,
            destination,
            origin,
            parcels,
            items,
            expires_on,
        ) {
            (
                Some(exporter),
                Some(importer),
                Some(destination),
                Some(origin),
                Some(parcels),
                Some(items),
                Some(expires_on),
            ) => Ok(CertificateContent {
                exporter,
                importer,
                destination,
                origin,
                parcels,
                items,
                issued_on: policy.issued_on,
                expires_on,
                replaces: None,
                derived_from,
                origin_zone,
                approval: None,
            }),
            // Every None above was reported, except an Invalid input the wire layer reported.
            _ => Err(Vec::new()),
        }
    }

    /// Every rule of issuance that this content breaks under `policy` (whose `issued_on` must be
    /// the content's): the same rules [`CertificateContent::validate`] applies, for content
    /// that was recorded rather than requested. Structural rules that the typed content cannot
    /// break (sorted distinct items and countries, 2-decimal amounts) are the decoder's.
    pub fn problems(&self, policy: &IssuePolicy<'_>) -> Vec<Problem> {
        let mut c = Collector(Vec::new());
        for (field, party) in [("exporter", &self.exporter), ("importer", &self.importer)] {
            c.rule_lazy(
                || format!("{field}.name"),
                text_rule(&party.name, MAX_NAME_CHARS),
            );
            c.rule_lazy(
                || format!("{field}.address"),
                text_rule(&party.address, MAX_ADDRESS_CHARS),
            );
        }
        c.rule("destination", destination_rule(self.destination, policy));
        if let Some(zone) = &self.origin_zone {
            c.rule("origin_zone", origin_zone_rule(zone));
        }
        if let Origin::Mixed(list) = &self.origin {
            c.rule("origin.countries", origin_count_rule(list.len()));
        }
        c.rule("parcels", parcels_rule(self.parcels as i64));
        if self.items.is_empty() {
            c.add("items", "must hold at least one item");
        }
        for (i, item) in self.items.iter().enumerate() {
            c.rule_lazy(|| format!("items[{i}].carats"), carats_rule(item.carats));
        }
        if self.issued_on != policy.issued_on {
            c.add(
                "issued_on",
                format!("must be the day it was recorded, {}", policy.issued_on),
            );
        }
        c.rule("expires_on", expiry_rule(self.expires_on, policy));
        c.0.extend(citation_problems(
            &self.derived_from,
            self.total_carats(),
            policy.issuer,
        ));
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(s: &str) -> Input<String> {
        Input::Given(s.to_owned())
    }

    fn party(name: &str, address: &str) -> Input<PartyInput> {
        Input::Given(PartyInput {
            name: given(name),
            address: given(address),
        })
    }

    fn item(hs: &str, ct: &str, usd: &str) -> Input<ItemInput> {
        Input::Given(ItemInput {
            hs_code: given(hs),
            carats: given(ct),
            value_usd: given(usd),
        })
    }

    fn example() -> DraftInput {
        DraftInput {
            exporter: party("Okavango Diamond Company", "Plot 123, Gaborone, Botswana"),
            importer: party("Desert Rough DMCC", "Almas Tower, Dubai, UAE"),
            destination: given("AE"),
            origin: Input::Given(OriginInput {
                mixed: Input::Missing,
                countries: Input::Given(vec![given("BW")]),
            }),
            parcels: Input::Given(3),
            items: Input::Given(vec![item("7102.10", "1520.35", "845000.00")]),
            expires_on: given("2027-01-25"),
            derived_from: Input::Missing,
            origin_zone: Input::Missing,
            request_hash: None,
        }
    }

    /// Validates `input` as BW on 2026-11-26 and returns the problems as `field: message`.
    fn check(input: DraftInput) -> Result<CertificateContent, Vec<String>> {
        let is_participant = |c: CountryCode| ["BW", "AE", "EU", "NA", "IN"].contains(&c.as_str());
        let policy = IssuePolicy {
            issuer: CountryCode::participant("BW").unwrap(),
            issued_on: Date::parse("2026-11-26").unwrap(),
            default_validity_days: 60,
            max_validity_days: 90,
            is_participant: &is_participant,
        };
        CertificateContent::validate(&input, &policy).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect()
        })
    }

    #[test]
    fn the_example_request_is_valid() {
        let content = check(example()).unwrap();
        assert_eq!(content.items[0].carats.to_string(), "1520.35");
        assert_eq!(content.expires_on.to_string(), "2027-01-25");
        assert_eq!(
            content.origin,
            Origin::Single(CountryCode::country("BW").unwrap())
        );
    }

    #[test]
    fn expiry_defaults_to_the_policy() {
        let mut input = example();
        input.expires_on = Input::Missing;
        assert_eq!(check(input).unwrap().expires_on.to_string(), "2027-01-25");
    }

    #[test]
    fn namibia_is_a_country() {
        let mut input = example();
        input.destination = given("NA");
        input.origin = Input::Given(OriginInput {
            mixed: Input::Given(true),
            countries: Input::Given(vec![given("NA"), given("ZA")]),
        });
        let content = check(input).unwrap();
        assert_eq!(content.destination.as_str(), "NA");
    }

    #[test]
    fn mixed_origin_may_list_no_country_and_is_sorted() {
        let mut input = example();
        input.origin = Input::Given(OriginInput {
            mixed: Input::Given(true),
            countries: Input::Given(vec![]),
        });
        assert_eq!(check(input.clone()).unwrap().origin, Origin::Mixed(vec![]));
        input.origin = Input::Given(OriginInput {
            mixed: Input::Given(true),
            countries: Input::Given(vec![given("ZA"), given("BW")]),
        });
        let Origin::Mixed(list) = check(input).unwrap().origin else {
            panic!()
        };
        assert_eq!(
            list.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            ["BW", "ZA"]
        );
    }

    #[test]
    fn names_that_hide_or_reorder_text_are_refused_and_text_is_signed_composed() {
        for (name, code) in [
            ("Okavango \u{202E}ynapmoC", "U+202E"),
            ("\u{200B}", "U+200B"),
            ("\u{FEFF}", "U+FEFF"),
            ("\u{3164}\u{3164}", "U+3164"),
            ("Okavango\u{2028}Diamonds", "U+2028"),
            ("Oka\u{2066}vango", "U+2066"),
        ] {
            let mut input = example();
            input.exporter = party(name, "Plot 123");
            let problems = check(input).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with("exporter.name") && p.contains(code)),
                "{name:?}: {problems:?}"
            );
        }
        // A decomposed e + combining acute is signed as the composed é.
        let mut input = example();
        input.importer = party("Desert Rough Cafe\u{301}", "Almas Tower");
        let content = check(input).unwrap();
        assert_eq!(content.importer.name, "Desert Rough Caf\u{E9}");
        // What is recorded must already be composed.
        assert!(text_rule("Cafe\u{301}", 120).is_err());
        assert!(text_rule("Caf\u{E9}", 120).is_ok());
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let input = DraftInput {
            exporter: party("", "Plot 123"),
            importer: Input::Missing,
            destination: given("BW"),
            origin: Input::Given(OriginInput {
                mixed: Input::Missing,
                countries: Input::Given(vec![given("XX"), given("BW")]),
            }),
            parcels: Input::Given(0),
            items: Input::Given(vec![
                item("7102.99", "1.234", "-5"),
                item("7102.10", "0", "1.00"),
                item("7102.10", "1.00", "1.00"),
            ]),
            expires_on: given("2026-11-26"),
            derived_from: Input::Missing,
            origin_zone: Input::Missing,
            request_hash: None,
        };
        let problems = check(input).unwrap_err();
        let want = [
            "exporter.name: must not be empty",
            "importer: is required",
            "destination: must differ from the issuing participant",
            "origin.countries[0]: \"XX\" is not an ISO 3166-1 alpha-2 country code",
            "origin.countries: an unmixed origin names exactly one country; set \"mixed\": true for mixed origin",
            "parcels: must be between 1 and 100000",
            "items[0].hs_code: \"7102.99\" is not a rough-diamond HS code (7102.10, 7102.21 or 7102.31)",
            "items[0].carats: must have at most 2 decimals",
            "items[0].value_usd: must be a decimal number such as \"1520.35\"",
            "items[1].carats: must be greater than 0",
            "items[2].hs_code: 7102.10 appears more than once",
            "expires_on: must be after the issue date 2026-11-26",
        ];
        assert_eq!(problems, want);
    }

    #[test]
    fn bounds_and_participants() {
        let mut input = example();
        input.destination = given("BE");
        input.expires_on = given("2027-03-01");
        input.exporter = party(&"x".repeat(121), " padded");
        input.items = Input::Given(vec![]);
        let problems = check(input).unwrap_err();
        assert_eq!(
            problems,
            [
                "exporter.name: must be at most 120 characters",
                "exporter.address: must not start or end with white space",
                "destination: BE is not a Kimberley Process participant (EU member states take part as one participant: use EU)",
                "items: must hold at least one item",
                "expires_on: must be within the authority's maximum validity of 90 days (at most 2027-02-24)",
            ]
        );
    }

    #[test]
    fn certificate_numbers() {
        let bw = CountryCode::participant("BW").unwrap();
        let n = CertificateNumber::new(bw, 2026, 42);
        assert_eq!(n.as_str(), "BW-2026-000042");
        assert_eq!(CertificateNumber::parse("BW-2026-000042"), Some(n.clone()));
        assert_eq!(n.participant(), bw);
        assert_eq!(
            CertificateNumber::parse("EU-2026-1234567")
                .unwrap()
                .as_str(),
            "EU-2026-1234567"
        );
        for bad in [
            "BW-2026-42",
            "bw-2026-000042",
            "XX-2026-000001",
            "BW-26-000001",
            "BW-2026-0000042",
            "BW-2026-000000",
            "BW-2026-0000000",
            "BW-2026-000001-",
            "BW-2026-+00001",
            "BW--2026-000001",
            "BW-2026-00000a",
            "BW-2026-99999999999999999999",
            "",
        ] {
            assert_eq!(CertificateNumber::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_number_parses_exactly_when_new_writes_it() {
        // parse checks canonical form without formatting; new is the definition of canonical.
        let bw = CountryCode::participant("BW").unwrap();
        for year in ["0000", "0999", "2026", "9999"] {
            for serial in [
                "000001",
                "000000",
                "0000001",
                "0100000",
                "100000",
                "999999",
                "1000000",
                "0999999",
                "18446744073709551615",
                "1844674407370955161",
                "0184467440737095516",
            ] {
                let text = format!("BW-{year}-{serial}");
                let written = serial
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .map(|n| CertificateNumber::new(bw, year.parse().unwrap(), n))
                    .filter(|n| n.as_str() == text && serial.len() <= 19);
                assert_eq!(CertificateNumber::parse(&text), written, "{text}");
            }
        }
    }

    #[test]
    fn a_number_is_written_compared_and_ordered_as_its_text() {
        // The text is kept inline: it must be exactly what formatting the parts gives, and
        // equality and order must be those of the texts.
        let mut numbers = Vec::new();
        for p in ["BW", "AE", "EU", "ZW"] {
            let c = CountryCode::participant(p).unwrap();
            for year in [0, 7, 999, 2026, 9999] {
                for serial in [
                    1,
                    9,
                    42,
                    999_999,
                    1_000_000,
                    123_456_789,
                    u64::MAX / 7,
                    u64::MAX,
                ] {
                    let n = CertificateNumber::new(c, year, serial);
                    assert_eq!(n.as_str(), format!("{p}-{year:04}-{serial:06}"));
                    assert_eq!(n.to_string(), n.as_str());
                    if let Some(parsed) = CertificateNumber::parse(n.as_str()) {
                        assert_eq!(parsed, n);
                        assert_eq!(parsed.as_str(), n.as_str());
                    }
                    numbers.push(n);
                }
            }
        }
        for a in &numbers {
            for b in &numbers {
                assert_eq!(a == b, a.as_str() == b.as_str(), "{a} {b}");
                assert_eq!(a.cmp(b), a.as_str().cmp(b.as_str()), "{a} {b}");
            }
        }
    }

    /// The hand-written number text is what `format!` gave, for every width of serial.
    #[test]
    fn numbers_are_written_as_the_formatter_writes_them() {
        let bw = CountryCode::participant("BW").unwrap();
        let eu = CountryCode::participant("EU").unwrap();
        for (p, year) in [(bw, 2026), (eu, 0), (bw, 9999), (eu, 1970)] {
            let mut serial = 1u64;
            loop {
                for s in [serial, serial.saturating_mul(10) - 1] {
                    let n = CertificateNumber::new(p, year, s.max(1));
                    assert_eq!(n.as_str(), format!("{p}-{year:04}-{:06}", s.max(1)));
                }
                match serial.checked_mul(10) {
                    Some(next) => serial = next,
                    None => break,
                }
            }
            let max = CertificateNumber::new(p, year, u64::MAX);
            assert_eq!(max.as_str(), format!("{p}-{year:04}-{}", u64::MAX));
        }
    }
}
