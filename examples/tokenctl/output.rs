//! What tokenctl prints and asks: tables, details, JSON, prompts.

use super::*;

/// Asks on the terminal whether to delete; refuses without a terminal.
pub(crate) fn confirm_delete(info: &TokenInfo) -> Result<bool, Failure> {
    if !io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "refusing to delete without --yes: stdin is not a terminal".to_owned(),
        ));
    }
    eprint!(
        "Delete token {} \"{}\"? Anything using it stops working at once. [y/N] ",
        info.id, info.name
    );
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|error| Failure::Usage(format!("cannot read the answer: {error}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// Reads a token from stdin, dropping one trailing line break.
pub(crate) fn read_token_from_stdin() -> Result<Zeroizing<String>, Failure> {
    let mut bytes = Zeroizing::new(Vec::new());
    io::stdin()
        .lock()
        .take(INPUT_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|error| Failure::Usage(format!("cannot read the token from stdin: {error}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Zeroizing::new(line.to_owned()))
}

/// Writes to stdout; a closed pipe (as with `| head`) is not an error.
pub(crate) fn print_out(text: &str) {
    let _ = io::stdout().lock().write_all(text.as_bytes());
}

pub(crate) fn expiry_text(info: &TokenInfo) -> String {
    info.expires
        .instant()
        .map_or_else(|| "never".to_owned(), instant_text)
}

pub(crate) fn last_used_text(info: &TokenInfo) -> String {
    info.last_used_at
        .map_or_else(|| "never".to_owned(), instant_text)
}

pub(crate) fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

/// An aligned table of tokens, one per line, under a heading.
pub(crate) fn table(tokens: &[TokenInfo]) -> String {
    const HEADINGS: [&str; 7] = [
        "ID",
        "NAME",
        "OWNER",
        "SCOPES",
        "CREATED",
        "EXPIRES",
        "LAST USED",
    ];
    let rows: Vec<[String; 7]> = tokens
        .iter()
        .map(|info| {
            [
                info.id.to_string(),
                info.name.clone(),
                or_dash(info.owner.as_deref().unwrap_or_default()).to_owned(),
                or_dash(&info.scopes.join(",")).to_owned(),
                instant_text(info.created_at),
                expiry_text(info),
                last_used_text(info),
            ]
        })
        .collect();

    let mut widths = HEADINGS.map(|heading| heading.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headings = HEADINGS.map(str::to_owned);
    for row in std::iter::once(&headings).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let pad = width - cell.chars().count();
            let _ = write!(line, "{cell}{:pad$}  ", "");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One token's details, a field per line.
pub(crate) fn details(info: &TokenInfo) -> String {
    let metadata: Vec<String> = info
        .metadata
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let fields = [
        ("id", info.id.to_string()),
        ("name", info.name.clone()),
        (
            "owner",
            info.owner.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("scopes", or_dash(&info.scopes.join(", ")).to_owned()),
        ("metadata", or_dash(&metadata.join(", ")).to_owned()),
        ("created", instant_text(info.created_at)),
        ("expires", expiry_text(info)),
        ("last used", last_used_text(info)),
    ];
    fields
        .iter()
        .map(|(label, value)| format!("{:<10} {value}\n", format!("{label}:")))
        .collect()
}

pub(crate) fn to_json(value: &impl Serialize) -> String {
    // Plain strings, lists and maps of strings always serialise.
    serde_json::to_string_pretty(value).unwrap_or_default()
}
