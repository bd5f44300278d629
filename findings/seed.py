"""The facts of TACTICAL_DOCUMENT_GENERATION_PLAN.md that the catalogue is loaded from.

Only what the seed states is written here. Where it is silent (a completed finding's title, the
priority inside a phase's band, an effort estimate) the loader uses a placeholder an admin edits.
tests/services/test_seed_catalogue.py reads the seed document itself and proves these facts match
it.
"""

from dataclasses import dataclass

TITLE_PLACEHOLDER = "Title not given in the seed: an admin sets it"

# The seed bases every remaining plan on the patterns of these two completed findings.
FOUNDATION_FINDINGS = ("BF-001", "BL-002")


@dataclass(frozen=True)
class PhaseFact:
    code: str
    name: str
    priority_band: str
    folder_name: str
    order: int
    requires_signoff: bool
    # The priority a finding takes when the seed gives only the band, and whether that is a guess.
    default_priority: str
    priority_unconfirmed: bool


@dataclass(frozen=True)
class DocumentFact:
    sequence: int
    file_name: str
    phase_code: str
    title: str
    finding_codes: tuple[str, ...]


PHASES = (
    PhaseFact("2A", "Foundation", "CRITICAL", "phase_2a_foundation", 1, True, "CRITICAL", False),
    PhaseFact("2B", "Security", "HIGH", "phase_2b_security", 2, False, "HIGH", False),
    PhaseFact("2C", "Performance", "HIGH/MEDIUM", "phase_2c_performance", 3, False, "HIGH", True),
    PhaseFact(
        "2D", "Architecture", "MEDIUM/LOW", "phase_2d_architecture", 4, False, "MEDIUM", True
    ),
)

COMPLETED_FINDINGS = ("BF-001", "BF-004", "SI-003", "BF-003", "BL-008", "BF-005", "BL-002")

DOCUMENTS = (
    DocumentFact(
        4,
        "SI-001_TACTICAL_PLAN.md",
        "2A",
        "Enhanced Transaction Management Anti-patterns",
        ("SI-001",),
    ),
    DocumentFact(5, "SI-002_TACTICAL_PLAN.md", "2A", "Centralized State Management", ("SI-002",)),
    DocumentFact(6, "BF-002_TACTICAL_PLAN.md", "2A", "Additional Concurrency Hazards", ("BF-002",)),
    DocumentFact(
        7,
        "BL-006_TACTICAL_PLAN.md",
        "2B",
        "Missing authorization context in audit logs",
        ("BL-006",),
    ),
    DocumentFact(
        8, "BL-005_TACTICAL_PLAN.md", "2B", "Authorization gaps in API endpoints", ("BL-005",)
    ),
    DocumentFact(9, "BL-007_TACTICAL_PLAN.md", "2B", "Input validation weaknesses", ("BL-007",)),
    DocumentFact(
        10, "BF-006_TACTICAL_PLAN.md", "2C", "State management inconsistencies", ("BF-006",)
    ),
    DocumentFact(
        11,
        "BL-003_TACTICAL_PLAN.md",
        "2C",
        "Data consistency violations in campaign lifecycle",
        ("BL-003",),
    ),
    DocumentFact(
        12,
        "BL-001_TACTICAL_PLAN.md",
        "2C",
        "Transaction atomicity in persona operations",
        ("BL-001",),
    ),
    DocumentFact(
        13, "BL-004_TACTICAL_PLAN.md", "2C", "Timezone-aware scheduling framework", ("BL-004",)
    ),
    DocumentFact(
        14,
        "BF-007_TACTICAL_PLAN.md",
        "2C",
        "Resource management and lifecycle optimization",
        ("BF-007",),
    ),
    DocumentFact(
        15, "BF-009_TACTICAL_PLAN.md", "2C", "Performance bottleneck elimination", ("BF-009",)
    ),
    DocumentFact(16, "SI-004_TACTICAL_PLAN.md", "2D", "Redundant implementations", ("SI-004",)),
    DocumentFact(17, "SI-005_TACTICAL_PLAN.md", "2D", "Architectural contradictions", ("SI-005",)),
    DocumentFact(
        18, "SI-006_TACTICAL_PLAN.md", "2D", "Implementation pattern standardization", ("SI-006",)
    ),
    DocumentFact(19, "SI-007_TACTICAL_PLAN.md", "2D", "Service contract clarity", ("SI-007",)),
    DocumentFact(20, "BF-008_TACTICAL_PLAN.md", "2D", "Legacy compatibility issues", ("BF-008",)),
    DocumentFact(
        21, "BL-009_TACTICAL_PLAN.md", "2D", "Documentation and monitoring gaps", ("BL-009",)
    ),
    DocumentFact(
        22,
        "REMAINING_FINDINGS_TACTICAL_PLAN.md",
        "2D",
        "BL-010 through BL-014 grouped",
        ("BL-010", "BL-011", "BL-012", "BL-013", "BL-014"),
    ),
)

# Section 5 of the seed's Enhanced Document Template, in order: (section, text).
DEPENDENCY_PLACEHOLDER = "[dependency findings]"
STANDARD_CHECKLIST = (
    ("mandatory", "`go test ./... -race` passes with zero data races"),
    ("mandatory", "`golangci-lint run` clean with zero critical issues"),
    ("mandatory", "Real database integration tests pass"),
    ("mandatory", "Performance benchmarks maintained or improved"),
    ("mandatory", "No breaking changes to existing APIs"),
    ("database", "Migration applies cleanly to `domainflow_production`"),
    ("database", "Migration rollback tested and functional"),
    ("database", "Database performance impact assessed"),
    ("database", "Concurrent access patterns validated"),
    ("integration", f"Integration with {DEPENDENCY_PLACEHOLDER} verified"),
    ("integration", "State management consistency maintained"),
    ("integration", "Audit logging compliance verified"),
    ("integration", "Error handling patterns consistent"),
)

# The seed's PHASE-SPECIFIC POSTGRESQL PATTERN LIBRARY, one pattern per finding it covers.
POSTGRESQL_PATTERNS = {
    "SI-001": """\
-- SI-001: Enhanced Transaction Management
CREATE OR REPLACE FUNCTION execute_campaign_transaction_batch(
    p_operations JSONB[],
    p_campaign_id UUID,
    p_user_id UUID
) RETURNS TABLE(batch_success BOOLEAN, operation_results JSONB);""",
    "SI-002": """\
-- SI-002: State Event Sourcing with Optimistic Locking
CREATE TABLE campaign_state_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_id UUID NOT NULL REFERENCES campaigns(id),
    event_type VARCHAR(50) NOT NULL,
    event_data JSONB NOT NULL,
    sequence_number BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    created_by UUID REFERENCES auth.users(id)
);""",
    "BF-002": """\
-- BF-002: Concurrency-Safe Service Operations
CREATE OR REPLACE FUNCTION claim_next_service_operation(
    p_service_type VARCHAR(50),
    p_worker_id VARCHAR(100)
) RETURNS TABLE(operation_id UUID, operation_data JSONB);""",
    "BL-006": """\
-- BL-006: Enhanced Audit Context
CREATE OR REPLACE FUNCTION record_audit_with_full_context(
    p_user_id UUID,
    p_action TEXT,
    p_resource_type TEXT,
    p_resource_id UUID,
    p_authorization_context JSONB,
    p_request_context JSONB
) RETURNS UUID;""",
    "BL-005": """\
-- BL-005: API Authorization Enhancement
CREATE OR REPLACE FUNCTION validate_api_endpoint_authorization(
    p_user_id UUID,
    p_endpoint VARCHAR(255),
    p_resource_id UUID,
    p_action VARCHAR(50)
) RETURNS TABLE(authorized BOOLEAN, permissions JSONB, constraints JSONB);""",
    "BL-007": """\
-- BL-007: Input Validation Framework
CREATE OR REPLACE FUNCTION validate_input_data(
    p_input_data JSONB,
    p_validation_schema JSONB,
    p_security_context JSONB
) RETURNS TABLE(valid BOOLEAN, sanitized_data JSONB, violations JSONB);""",
    "BF-006": """\
-- BF-006: State Synchronization Optimization
CREATE OR REPLACE FUNCTION sync_campaign_state_optimized(
    p_campaign_id UUID,
    p_target_state VARCHAR(50)
) RETURNS TABLE(
    sync_successful BOOLEAN,
    sync_duration_ms INTEGER,
    conflicts_resolved INTEGER
);""",
    "BL-003": """\
-- BL-003: Campaign Lifecycle Data Consistency
CREATE OR REPLACE FUNCTION validate_campaign_lifecycle_transition(
    p_campaign_id UUID,
    p_from_phase VARCHAR(50),
    p_to_phase VARCHAR(50),
    p_validation_context JSONB
) RETURNS TABLE(valid BOOLEAN, constraints_violated JSONB);""",
    "BL-001": """\
-- BL-001: Persona Transaction Atomicity
CREATE OR REPLACE FUNCTION execute_persona_atomic_operation(
    p_persona_id UUID,
    p_operation_type VARCHAR(50),
    p_operation_data JSONB
) RETURNS TABLE(success BOOLEAN, result_data JSONB, rollback_data JSONB);""",
    "SI-004": """\
-- SI-004: Redundancy Detection and Cleanup
CREATE OR REPLACE FUNCTION detect_implementation_redundancy(
    p_service_pattern VARCHAR(255),
    p_analysis_scope VARCHAR(100)
) RETURNS TABLE(redundant_implementations JSONB, consolidation_opportunities JSONB);""",
    "SI-005": """\
-- SI-005: Architectural Consistency Validation
CREATE OR REPLACE FUNCTION validate_architectural_consistency(
    p_component_type VARCHAR(100),
    p_consistency_rules JSONB
) RETURNS TABLE(consistent BOOLEAN, violations JSONB, recommendations JSONB);""",
}
