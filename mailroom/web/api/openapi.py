"""The OpenAPI 3.1 document of the scanner API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from mailroom.models import EventKind, ItemKind, ItemStatus
from mailroom.services.intake import API_EVENT_KINDS

SERVER = "/api/v1"


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema_ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


CODE_PARAMETER = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "Our item code, the carrier's code (e.g. an S10 number) or the incoming number (E-2026-000123).",
    "schema": {"type": "string", "maxLength": 64},
}

NULLABLE_STRING = {"type": ["string", "null"]}


def _schemas() -> dict:
    item_properties = {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "carrier_code": NULLABLE_STRING,
        "carrier_format": NULLABLE_STRING,
        "check_digit_valid": {"type": ["boolean", "null"]},
        "incoming_number": {"type": "string", "examples": ["E-2026-004711"]},
        "received_at": {"type": "string", "format": "date-time"},
        "received_local": {"type": "string"},
        "kind": {"type": ["string", "null"], "enum": [*(k.value for k in ItemKind), None]},
        "kind_label": NULLABLE_STRING,
        "status": {"type": "string", "enum": [s.value for s in ItemStatus]},
        "status_label": {"type": "string"},
        "org_unit": NULLABLE_STRING,
        "org_unit_short": NULLABLE_STRING,
        "site_code": NULLABLE_STRING,
        "confidential": {"type": "boolean"},
        "registered": {"type": "boolean"},
        "needs_details": {"type": "boolean"},
        "file_number": NULLABLE_STRING,
        "delivery_date": {"type": ["string", "null"], "format": "date"},
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "examples": ["invalid_transition"]},
                        "message": {"type": "string", "description": "German, for the device's user."},
                    },
                }
            },
        },
        "Item": {
            "type": "object",
            "required": ["id", "code", "incoming_number", "status"],
            "properties": item_properties,
        },
        "Event": {
            "type": "object",
            "required": ["id", "kind", "at"],
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string", "enum": [k.value for k in EventKind]},
                "label": {"type": "string"},
                "from_status": NULLABLE_STRING,
                "to_status": NULLABLE_STRING,
                "at": {"type": "string", "format": "date-time"},
                "recorded_at": {"type": ["string", "null"], "format": "date-time"},
                "user": NULLABLE_STRING,
                "where": NULLABLE_STRING,
                "tour_id": {"type": ["integer", "null"]},
                "note": NULLABLE_STRING,
                "receiver_name": NULLABLE_STRING,
                "signed": {"type": "boolean"},
                "details": {"type": "array", "items": {"type": "string"}},
            },
        },
        "ItemWithEvents": {
            "allOf": [
                {"$ref": "#/components/schemas/Item"},
                {
                    "type": "object",
                    "properties": {
                        "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                        "event_id": {"type": "integer"},
                    },
                },
            ]
        },
        "LogResult": {
            "type": "object",
            "required": ["created", "level", "message", "item"],
            "properties": {
                "created": {"type": "boolean", "description": "false: the code was known, the item is shown."},
                "level": {"type": "string", "enum": ["ok", "warn", "error"]},
                "message": {"type": "string"},
                "format": NULLABLE_STRING,
                "format_label": NULLABLE_STRING,
                "notified": {"type": "boolean"},
                "item": {"$ref": "#/components/schemas/ItemWithEvents"},
            },
        },
        "NewItem": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "maxLength": 64, "description": "Empty or missing: our own code is made."},
                "kind": {"type": "string", "enum": [k.value for k in ItemKind]},
                "org_unit": {"type": "string", "description": "Short name of the org unit, e.g. FD20."},
                "confidential": {"type": "boolean"},
                "sender": {"type": "string", "maxLength": 200},
                "recipient_name": {"type": "string", "maxLength": 200},
                "file_number": {"type": "string", "maxLength": 64},
                "delivery_date": {"type": "string", "format": "date"},
                "remarks": {"type": "string", "maxLength": 2000},
            },
        },
        "NewEvent": {
            "type": "object",
            "required": ["kind"],
            "properties": {
                "kind": {"type": "string", "enum": list(API_EVENT_KINDS)},
                "note": {"type": "string", "maxLength": 500, "description": "Required for forwarded: to whom."},
                "site": {"type": "string", "description": "sorted: the site code of the box (default: the item's)."},
            },
        },
        "ScanResult": {
            "type": "object",
            "required": ["file", "codes"],
            "properties": {
                "file": {"type": "string"},
                "media_type": NULLABLE_STRING,
                "error": {"type": "null"},
                "codes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "value": {"type": "string"},
                            "symbology": {"type": "string", "examples": ["CODE128", "I25", "QRCODE"]},
                            "format": {"type": "string"},
                            "format_label": {"type": "string"},
                            "check_digit_valid": {"type": ["boolean", "null"]},
                            "message": NULLABLE_STRING,
                            "created": {"type": "boolean"},
                            "error": NULLABLE_STRING,
                            "item": {"oneOf": [{"$ref": "#/components/schemas/Item"}, {"type": "null"}]},
                        },
                    },
                },
            },
        },
    }


def openapi_document() -> dict:
    unauthorized = _error("Token missing, invalid or revoked.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mailroom scanner API",
            "version": "1.0.0",
            "description": "Incoming mail for scanner devices of the Zentrale Poststelle. Authenticate with "
            "`Authorization: Bearer <token>` (tokens: `mailroom create-token USERNAME --name DEVICE`).",
        },
        "servers": [{"url": SERVER}],
        "security": [{"bearer": []}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI document", "content": {"application/json": {}}}},
                }
            },
            "/scans": {
                "post": {
                    "operationId": "postScan",
                    "summary": "Decode every barcode on an image or PDF; match each code to an item or log it.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {"image": {"type": "string", "format": "binary"}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json("ScanResult", "At least one new item logged."),
                        "200": _json("ScanResult", "All codes matched existing items."),
                        "401": unauthorized,
                        "413": _error("File too large."),
                        "422": _error("Not an image/PDF, truncated, too many pixels, or no barcode found."),
                    },
                }
            },
            "/items": {
                "post": {
                    "operationId": "postItem",
                    "summary": "Log an item by its code (or without a code: our own code is made).",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewItem"}}},
                    },
                    "responses": {
                        "201": _json("LogResult", "New item logged."),
                        "200": _json("LogResult", "The code was known: the existing item, nothing changed."),
                        "401": unauthorized,
                        "422": _error("Invalid input (unknown org unit, unknown kind, box code, ...)."),
                    },
                }
            },
            "/items/{code}": {
                "get": {
                    "operationId": "getItem",
                    "summary": "An item with its chain of custody.",
                    "parameters": [CODE_PARAMETER],
                    "responses": {
                        "200": _json("ItemWithEvents", "The item."),
                        "401": unauthorized,
                        "404": _error("Unknown code."),
                    },
                }
            },
            "/items/{code}/events": {
                "post": {
                    "operationId": "postItemEvent",
                    "summary": "Record a custody step: sorted, returned or forwarded.",
                    "parameters": [CODE_PARAMETER],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewEvent"}}},
                    },
                    "responses": {
                        "201": _json("ItemWithEvents", "Step recorded."),
                        "401": unauthorized,
                        "404": _error("Unknown code or site."),
                        "409": _error("The step is not possible in the item's status."),
                        "422": _error("Unknown step, missing details or note."),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }
