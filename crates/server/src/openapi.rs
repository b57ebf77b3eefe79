//! The OpenAPI 3 document of the API, hand-written: generating it from the code would need a
//! schema-derive dependency this foundation does not carry yet. A test checks that it parses and
//! lists every route of [`crate::http::app`].

pub(crate) const DOCUMENT: &str = r##"{
  "openapi": "3.0.3",
  "info": {
    "title": "Tandem territory server",
    "version": "1",
    "description": "Sync protocol version 1. Every /v1 request carries the header `tandem-protocol: 1` and, except /v1/enrol, `Authorization: Bearer <device token>`. See docs/sync-protocol.md."
  },
  "components": {
    "securitySchemes": { "device": { "type": "http", "scheme": "bearer" } },
    "parameters": {
      "Protocol": { "name": "tandem-protocol", "in": "header", "required": true, "schema": { "type": "integer", "example": 1 } }
    },
    "schemas": {
      "FollowUpEntry": { "type": "object", "required": ["structure_id", "structure_name", "share_social_notes"], "properties": {
        "structure_id": { "type": "string", "format": "uuid" }, "structure_name": { "type": "string" }, "share_social_notes": { "type": "boolean" } } },
      "AuthorInfo": { "type": "object", "required": ["device_id", "name", "structure"], "properties": {
        "device_id": { "type": "string", "format": "uuid" }, "name": { "type": "string" }, "structure": { "type": "string" } } },
      "StructureInfo": { "type": "object", "required": ["id", "name", "kind"], "properties": {
        "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" }, "kind": { "type": "string" } } },
      "Hlc": { "type": "object", "required": ["wall_ms", "counter", "node"], "properties": {
        "wall_ms": { "type": "integer", "format": "int64" }, "counter": { "type": "integer" }, "node": { "type": "string", "format": "uuid" } } },
      "Change": { "type": "object", "required": ["mutation_id", "entity", "record_id", "person_id", "field", "value", "hlc", "device_id"], "properties": {
        "mutation_id": { "type": "string", "format": "uuid" },
        "entity": { "type": "string", "enum": ["person", "diagnostic", "followup"] },
        "record_id": { "type": "string", "format": "uuid" },
        "person_id": { "type": "string", "format": "uuid" },
        "field": { "type": "string" },
        "value": {},
        "base_version": { "type": "integer", "format": "int64", "nullable": true },
        "hlc": { "$ref": "#/components/schemas/Hlc" },
        "device_id": { "type": "string", "format": "uuid" } } },
      "VersionedChange": { "allOf": [ { "$ref": "#/components/schemas/Change" },
        { "type": "object", "required": ["version"], "properties": { "version": { "type": "integer", "format": "int64" } } } ] },
      "PushRequest": { "type": "object", "required": ["changes"], "properties": {
        "changes": { "type": "array", "items": { "$ref": "#/components/schemas/Change" } } } },
      "MutationResult": { "type": "object", "required": ["mutation_id", "outcome"], "properties": {
        "mutation_id": { "type": "string", "format": "uuid" },
        "outcome": { "type": "string", "enum": ["applied", "duplicate", "conflict", "refused"] },
        "version": { "type": "integer", "format": "int64" },
        "winner": { "type": "string", "format": "uuid" },
        "reason": { "type": "string", "enum": ["forbidden", "clock_ahead", "wrong_device", "invalid", "finalised", "social_only"] } } },
      "PushResponse": { "type": "object", "required": ["results", "server_time_ms"], "properties": {
        "results": { "type": "array", "items": { "$ref": "#/components/schemas/MutationResult" } },
        "server_time_ms": { "type": "integer", "format": "int64" } } },
      "PullResponse": { "type": "object", "required": ["removals", "changes", "cursor", "has_more", "server_time_ms"], "properties": {
        "removals": { "type": "array", "items": { "type": "string", "format": "uuid" } },
        "changes": { "type": "array", "items": { "$ref": "#/components/schemas/VersionedChange" } },
        "snapshot": { "type": "object", "description": "A snapshot page (first pull with snapshot=true): devices, records with their registers' heads, changes. See docs/sync-protocol.md §6.1." },
        "cursor": { "type": "string", "description": "Opaque." },
        "has_more": { "type": "boolean" },
        "server_time_ms": { "type": "integer", "format": "int64" } } },
      "FollowUpRequest": { "type": "object", "required": ["person_id", "structure_id", "consent", "share_social_notes"], "properties": {
        "person_id": { "type": "string", "format": "uuid" },
        "structure_id": { "type": "string", "format": "uuid" },
        "consent": { "type": "boolean" },
        "share_social_notes": { "type": "boolean" } } },
      "EnrolRequest": { "type": "object", "required": ["code", "device_name"], "properties": {
        "code": { "type": "string", "description": "One-time code from `admin enrolment add`, e.g. `7KQ4-M2XH-PW9C-3RTA`; case, spaces and dashes do not matter." },
        "device_name": { "type": "string", "description": "1 to 200 characters, shown in `admin status`." } } },
      "EnrolResponse": { "type": "object", "required": ["device_id", "token", "structure_id", "structure_name", "caseworker_name", "role", "server_time_ms"], "properties": {
        "device_id": { "type": "string", "format": "uuid" },
        "token": { "type": "string", "description": "The device credential (bearer token); the server keeps only its hash." },
        "structure_id": { "type": "string", "format": "uuid" },
        "structure_name": { "type": "string" },
        "caseworker_name": { "type": "string" },
        "role": { "type": "string", "enum": ["social", "employment"] },
        "server_time_ms": { "type": "integer", "format": "int64" } } },
      "Error": { "type": "object", "required": ["code", "message"], "properties": {
        "code": { "type": "string", "enum": ["upgrade_required", "unauthorized", "device_revoked", "forbidden", "bad_request", "invalid_code", "internal"] },
        "message": { "type": "string", "description": "French, for the user." } } }
    },
    "responses": {
      "Error": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    }
  },
  "security": [ { "device": [] } ],
  "paths": {
    "/v1/push": { "post": {
      "summary": "Apply a batch of changes in one transaction, idempotently by mutation id.",
      "parameters": [ { "$ref": "#/components/parameters/Protocol" } ],
      "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PushRequest" } } } },
      "responses": {
        "200": { "description": "One result per change.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PushResponse" } } } },
        "401": { "$ref": "#/components/responses/Error" }, "403": { "$ref": "#/components/responses/Error" },
        "426": { "$ref": "#/components/responses/Error" } } } },
    "/v1/pull": { "get": {
      "summary": "The next page of the device's scope, in commit order.",
      "parameters": [ { "$ref": "#/components/parameters/Protocol" },
        { "name": "cursor", "in": "query", "required": false, "schema": { "type": "string" } },
        { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "maximum": 5000 } },
        { "name": "snapshot", "in": "query", "required": false, "schema": { "type": "boolean" }, "description": "Without a cursor: answer in snapshot form (current state per record)." } ],
      "responses": {
        "200": { "description": "A page.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PullResponse" } } } },
        "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
        "403": { "$ref": "#/components/responses/Error" }, "426": { "$ref": "#/components/responses/Error" } } } },
    "/v1/follow-up": { "get": {
      "summary": "The structures that see a person's file with their consent (for a device of one of them; audited).",
      "parameters": [ { "$ref": "#/components/parameters/Protocol" },
        { "name": "person_id", "in": "query", "required": true, "schema": { "type": "string", "format": "uuid" } } ],
      "responses": {
        "200": { "description": "By structure name.", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/FollowUpEntry" } } } } },
        "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
        "403": { "$ref": "#/components/responses/Error" }, "426": { "$ref": "#/components/responses/Error" } } },
      "post": {
      "summary": "Put a structure in a person's follow-up group or change its consent flags.",
      "parameters": [ { "$ref": "#/components/parameters/Protocol" } ],
      "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FollowUpRequest" } } } },
      "responses": { "204": { "description": "Done." },
        "401": { "$ref": "#/components/responses/Error" }, "403": { "$ref": "#/components/responses/Error" },
        "404": { "$ref": "#/components/responses/Error" }, "426": { "$ref": "#/components/responses/Error" } } } },
    "/v1/enrol": { "post": {
      "summary": "Trade a one-time enrolment code for a device credential. No bearer token: the code is the credential; it works once, before it expires.",
      "security": [],
      "parameters": [ { "$ref": "#/components/parameters/Protocol" } ],
      "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EnrolRequest" } } } },
      "responses": {
        "200": { "description": "Enrolled.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EnrolResponse" } } } },
        "400": { "$ref": "#/components/responses/Error" }, "426": { "$ref": "#/components/responses/Error" } } } },
    "/v1/structures": { "get": {
      "summary": "The territory's structures (no personal data), to pick one the person agrees to share their file with.",
      "parameters": [ { "$ref": "#/components/parameters/Protocol" } ],
      "responses": {
        "200": { "description": "Structures by name.", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/StructureInfo" } } } } },
        "401": { "$ref": "#/components/responses/Error" }, "403": { "$ref": "#/components/responses/Error" },
        "426": { "$ref": "#/components/responses/Error" } } } },
    "/v1/authors": { "get": {
      "summary": "Who the given devices act for (caseworker and structure; staff only, no personal data of the persons followed), to name the author of a conflicting value.",
      "parameters": [ { "$ref": "#/components/parameters/Protocol" },
        { "name": "ids", "in": "query", "required": true, "description": "Device ids, comma-separated, at most 200.", "schema": { "type": "string" } } ],
      "responses": {
        "200": { "description": "The devices found (unknown ids are left out).", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/AuthorInfo" } } } } },
        "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
        "403": { "$ref": "#/components/responses/Error" }, "426": { "$ref": "#/components/responses/Error" } } } },
    "/openapi.json": { "get": { "summary": "This document.", "security": [],
      "responses": { "200": { "description": "OpenAPI 3 document." } } } }
  }
}"##;
