//! Report bodies as Wolkvox writes them, with realistic label lengths: routing points are
//! four-digit ids, menu options are keypad digits or the words that IVR flows use (`AGENTE`,
//! `PULSE`, `NO_PASA_AGENTE`, ...), `calls` is a count (sometimes comma-grouped) and `time` is
//! minutes with two decimals (sometimes H:MM:SS). Every row is a distinct (rp_id, cod_opc_menu)
//! pair, so `rows` rows make `rows` series.

use std::fmt::Write as _;

/// Menu options, mean length about 7 characters.
const OPTIONS: [&str; 15] = [
    "1",
    "2",
    "3",
    "4",
    "5",
    "9",
    "0",
    "AGENTE",
    "PULSE",
    "CV_BUZON",
    "NO_PASA_AGENTE",
    "MENU_PRINCIPAL",
    "TRANSFERENCIA_AGENTE",
    "HORARIO_NO_HABIL",
    "ENCUESTA_SATISFACCION",
];

/// A success body with `rows` rows; the same `rows` always gives the same bytes.
pub fn report_body(rows: usize) -> String {
    let mut out = String::with_capacity(rows * 90 + 100);
    let _ = write!(
        out,
        r#"{{"code":200,"error":null,"msg":" {rows} records were found","data":["#
    );
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..rows {
        // xorshift: deterministic, no crate.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let rp = 1000 + i / OPTIONS.len();
        let opt = OPTIONS[i % OPTIONS.len()];
        let calls = state % 5000;
        let minutes = (state >> 16) % 100_000;
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"rp_id":"{rp}","calls":""#);
        if i % 10 == 3 && calls >= 1000 {
            let _ = write!(out, "{},{:03}", calls / 1000, calls % 1000);
        } else {
            let _ = write!(out, "{calls}");
        }
        out.push_str(r#"","time":""#);
        if i % 7 == 5 {
            let s = minutes * 60 / 100;
            let _ = write!(out, "{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
        } else {
            let _ = write!(out, "{}.{:02}", minutes / 100, minutes % 100);
        }
        let _ = write!(out, r#"","cod_opc_menu":"{opt}"}}"#);
    }
    out.push_str("]}");
    out
}
