"""The largest realistic diagram_1_3 answer, and answers of an exact size: what --wolkvox.max-body-size must hold.

Wolkvox returns at most 60,000 records per call (docs/wolkvox-api.md, "Documented limits"), each record four
strings. A record is as long as it can realistically be when every value is at its longest:

- `rp_id`: a routing point's name rather than its usual four-digit id, 25 characters;
- `cod_opc_menu`: a menu option as IVR flows name them, 40 characters, two of them accented and one a slash, which PHP's
  json_encode (the upstream is PHP) writes as `\\u00d3` (6 bytes for one character) and `\\/`;
- `calls`: seven digits, comma-grouped ("1,234,567"), beyond what one option of one routing point takes in 31 days;
- `time`: minutes with decimals, comma-grouped ("44,640,000.00": 31 days of 1,000 simultaneous callers).

Every record is a distinct (rp_id, cod_opc_menu) pair, so 60,000 records are 60,000 series. `python3 report_bodies.py`
prints the size of that body; README.md and BENCHMARKS.md take the default of --wolkvox.max-body-size from it.
"""

from __future__ import annotations

import json

MAX_RECORDS = 60_000

# Fifteen options of 40 characters each once decoded; each holds one "/" and two accented capitals.
OPTIONS = [
    f"{stem}/{'ÓPCIÓN'}_{n:02d}".ljust(40, "_")
    for n, stem in enumerate(
        [
            "TRANSFERENCIA_ASESOR",
            "ENCUESTA_SATISFACCION",
            "CONSULTA_SALDO_CUENTA",
            "PAGOS_Y_FACTURACION",
            "HORARIO_NO_HABIL_MSJ",
            "NO_PASA_AGENTE_COLA",
            "CV_BUZON_MENSAJES_VOZ",
            "MENU_PRINCIPAL_REPETIR",
            "SOPORTE_TECNICO_HOGAR",
            "RECLAMOS_Y_PETICIONES",
            "ACTUALIZACION_DATOS",
            "CITAS_AGENDAMIENTO_WEB",
            "ESTADO_DE_SOLICITUD",
            "ATENCION_PREFERENCIAL",
            "PULSE_SIN_SELECCION",
        ]
    )
]
assert all(len(o) == 40 for o in OPTIONS), [len(o) for o in OPTIONS]


def php_string(text: str) -> str:
    """A JSON string as PHP's json_encode writes it by default: non-ASCII as \\uXXXX, "/" as "\\/"."""
    return json.dumps(text, ensure_ascii=True).replace("/", "\\/")


def _record(index: int, pad: int) -> str:
    rp_id = f"RP_ATENCION_CLIENTES_{index // len(OPTIONS):04d}"
    option = OPTIONS[index % len(OPTIONS)] + "X" * pad
    return (
        f'{{"rp_id":{php_string(rp_id)},"calls":"1,234,567","time":"44,640,000.00",'
        f'"cod_opc_menu":{php_string(option)}}}'
    )


def _envelope(records: int, data: str) -> str:
    return f'{{"code":200,"error":null,"msg":" {records} records were found","data":[{data}]}}'


def largest_realistic(records: int = MAX_RECORDS) -> bytes:
    """A success body of `records` records, every value at its longest realistic length."""
    return _envelope(records, ",".join(_record(i, 0) for i in range(records))).encode()


def of_size(size: int, records: int = MAX_RECORDS) -> bytes:
    """A success body of exactly `size` bytes and `records` distinct series: the realistic records, each option name
    lengthened by the same few characters (one more for the first ones) until the body is `size` bytes."""
    extra = size - len(largest_realistic(records))
    assert extra >= 0, f"{size} bytes cannot hold {records} records"
    each, rest = divmod(extra, records)
    body = _envelope(records, ",".join(_record(i, each + (i < rest)) for i in range(records))).encode()
    assert len(body) == size, (len(body), size)
    return body


if __name__ == "__main__":
    body = largest_realistic()
    json.loads(body)
    print(f"{MAX_RECORDS} records: {len(body)} bytes, {len(body) / MAX_RECORDS:.1f} bytes per record")
