"""What the demo's people write: hiccup templates, the words filled into them, follow-up and NC texts.

This is data, not logic: a template is one story (what was seen, done, found and learned), told
with `{placeholders}` that drafts.py fills in per hiccup.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Template:
    key: str
    category: str
    title: str
    description: str
    immediate: str
    response: str
    root_cause: str
    corrective: str
    remarks: str
    lessons: str
    departments: tuple[str, ...] = ()  # () = any department


def _t(key: str, category: str, *texts: str, departments: str = '') -> Template:
    return Template(key, category, *texts, departments=tuple(departments.split()))


TEMPLATES = [
    # Equipment failure
    _t(
        'analyser_stop',
        'EQP',
        '{analyser} stopped mid-run',
        'The {analyser} showed "{error}" during the morning run and stopped; {n} samples for {test} were on the rack.',
        'Samples moved to the backup analyser; service engineer called.',
        'Engineer replaced the {part}; analyser back in use after two levels of QC passed.',
        'Worn {part} on the {analyser}; preventive maintenance was two weeks overdue.',
        'PM schedule put in the LIS calendar with reminders to the HOD; a spare {part} kept in stock.',
        'PM records and QC after repair checked; backlog cleared the same day.',
        'Overdue preventive maintenance comes back as breakdowns: track PM dates as closely as QC.',
        departments='HAEM BIO SERO MICRO',
    ),
    _t(
        'centrifuge',
        'EQP',
        'Centrifuge imbalance alarm at {loc}',
        'The centrifuge stopped with an imbalance alarm twice in an hour; {n} serum samples had to be re-spun.',
        'Centrifuge taken out of use; samples spun in the second centrifuge.',
        'Rotor and buckets inspected; one bucket adapter was cracked and has been replaced.',
        'Cracked bucket adapter; tubes of different sizes loaded opposite each other.',
        'Adapters checked weekly; balancing chart stuck on the lid; staff briefed.',
        'Centrifuge working normally for a week; weekly check added to the maintenance log.',
        'A simple balancing chart at the machine prevents most centrifuge stops.',
    ),
    _t(
        'fridge',
        'EQP',
        'Reagent fridge temperature excursion ({temp} °C)',
        'The reagent fridge in {dept} read {temp} °C at the morning check (range 2-8 °C); the door seal looked loose.',
        'Reagents moved to the backup fridge; affected lots quarantined pending QC.',
        'Door gasket replaced; quarantined lots released after QC within limits.',
        'Damaged door gasket; the night check was not recorded.',
        'Data logger with an SMS alert installed; night-shift temperature check added to the checklist.',
        'Logger alerts tested; no excursion since.',
        'A manual twice-daily reading misses night excursions; continuous logging with alerts does not.',
    ),
    _t(
        'ups',
        'EQP',
        'Power cut: {analyser} shut down without UPS backup',
        'A power cut at {time} shut the {analyser} down; the UPS battery did not hold. {n} tests had to be rerun.',
        'Analyser restarted on generator power; interrupted tests rerun.',
        'UPS batteries replaced by the vendor; load test passed.',
        'UPS batteries past their service life; no replacement schedule.',
        'Battery replacement added to the annual maintenance contract; quarterly UPS load test.',
        'Load test report filed; batteries under AMC.',
        'Power backup is part of the analyser: maintain it on the same calendar.',
        departments='HAEM BIO SERO MICRO HISTO',
    ),
    _t(
        'scanner',
        'EQP',
        'Barcode reader on {analyser} failing to read tubes',
        'The barcode reader of the {analyser} failed on about one tube in five this shift; IDs were typed by hand.',
        'Manual entry with a second person checking each ID.',
        'Reader window cleaned and realigned by the engineer; read rate back to normal.',
        'Dust on the reader window and labels stuck at an angle.',
        'Weekly cleaning of the reader added to maintenance; labelling demonstration for collection staff.',
        'Read failures below 1 % for two weeks.',
        'Crooked labels cause most read failures; label placement is part of phlebotomy training.',
        departments='HAEM BIO SERO',
    ),
    # Sample rejection
    _t(
        'haemolysed',
        'REJ',
        'Haemolysed sample for {test}',
        'Sample {pid} for {test} from {loc} was grossly haemolysed and had to be rejected; the patient was recalled.',
        'Patient called for a redraw; referring doctor informed of the delay.',
        'Discussed with the phlebotomist; a difficult draw with a narrow needle and vigorous mixing.',
        'Small-gauge needle and shaking the tube instead of gentle inversion.',
        'Refresher on order of draw and gentle inversion for all phlebotomists; 21G needles stocked at every counter.',
        'Haemolysis rejections from this centre down the following month.',
        'Gentle inversion, not shaking: haemolysis is made at the collection counter.',
    ),
    _t(
        'clotted',
        'REJ',
        'Clotted EDTA sample for CBC',
        'EDTA sample {pid} arrived clotted; CBC could not be run and the patient had to come back.',
        'Patient recalled; sample discarded as per SOP.',
        'Tube was not mixed right after collection during a rush at the counter.',
        'EDTA tube not inverted 8-10 times immediately after the draw.',
        'Tube rockers placed at both counters; inversion reminder on the tray.',
        'No clotted EDTA sample from the counter in the next four weeks.',
        'Mix immediately: a tube left on the tray during a rush clots.',
        departments='SC HC HAEM',
    ),
    _t(
        'unlabelled',
        'REJ',
        'Unlabelled sample received from {loc}',
        'A {test} sample arrived in the transport box from {loc} without a label; it could not be matched to a '
        'patient.',
        'Sample rejected; collection centre asked to recall the patient.',
        'The label printer jammed and the tube was set aside to be labelled later, then sent unlabelled.',
        'Labelling done after the draw, away from the patient.',
        'Label every tube in front of the patient before the draw; spare printer at each centre.',
        'Spot audit of 100 tubes found all labelled at the time of collection.',
        'Labels go on the tube in front of the patient, never later.',
    ),
    _t(
        'wrong_tube',
        'REJ',
        'Wrong tube type for {test}',
        'Sample {pid} for {test} was collected in the wrong tube; the result would not be valid.',
        'Patient recalled for a fresh sample in the right tube.',
        'New staff member unsure of the tube for this test; the tube chart at the counter was outdated.',
        'Outdated tube chart; no induction on test-tube mapping.',
        'Tube chart updated and laminated at every counter; the LIS prints the tube type on the label.',
        'Chart verified at all counters; LIS change live.',
        'Let the label say which tube: do not rely on memory.',
        departments='SC HC',
    ),
    _t(
        'qns',
        'REJ',
        'Insufficient sample volume for {test}',
        'Sample {pid} for {test} had too little volume for the test and the repeat it needed.',
        'Test run once with the available volume; patient recalled for the repeat.',
        'Paediatric draw; the minimum volumes were not known at the home visit.',
        'Minimum volumes for paediatric samples not on the requisition.',
        'Minimum volume printed on the requisition for each test; paediatric microtainers issued.',
        'Requisition change live; no QNS rejections since.',
        'Print what the lab needs where the collector reads it.',
    ),
    _t(
        'leak',
        'REJ',
        'Samples leaked in the transport bag from {loc}',
        '{n} samples from {loc} arrived with one urine container leaking into the bag; two labels were unreadable.',
        'Affected samples rejected and re-collected; bag disinfected.',
        'Urine container lid not screwed fully; the bag had no absorbent pad.',
        'Loose lid and no secondary containment.',
        'Absorbent pads and sealed secondary bags issued; lids checked before packing.',
        'Transport audit found all bags packed as per SOP.',
        'Triple packaging is cheap compared with a recollection.',
        departments='SC HC',
    ),
    # Reagent / QC
    _t(
        'qc_fail',
        'QC',
        'QC out of range on {test} ({rule} rule)',
        'Level 2 QC for {test} on the {analyser} violated the {rule} Westgard rule at the start of the run.',
        'Patient results held; run stopped until QC passed.',
        'Recalibrated; QC within limits; {n} held results verified and released.',
        'Calibration drift after a new reagent pack was loaded.',
        'Calibrate whenever a new reagent lot is loaded; QC review by the senior technologist each morning.',
        'Levey-Jennings charts reviewed for a month; no further violations.',
        'QC that stops the run protects patients: never release results on a failed run.',
        departments='HAEM BIO SERO MICRO',
    ),
    _t(
        'expired',
        'QC',
        'Expired reagent lot {lot} found in use',
        'Reagent lot {lot} for {test} was found on the analyser two days past its expiry date.',
        'Reagent removed; results since the expiry date reviewed against QC.',
        'Results checked; QC stayed within limits, no report needed correction.',
        'First-expiry-first-out not followed when the new stock arrived.',
        'Expiry dates colour-tagged on arrival; weekly expiry check signed by the HOD.',
        'Stock audit found no expired item.',
        'Colour tags make expiry visible at a glance.',
        departments='HAEM BIO SERO MICRO HISTO',
    ),
    _t(
        'stock_out',
        'QC',
        'Stock-out of {test} reagent',
        'The last kit of {test} reagent ran out at {time}; the order placed last week had not arrived.',
        'Samples sent to a partner lab; patients told of the delay.',
        'Emergency supply arranged from the distributor the same evening.',
        'Reorder level set too low for the current workload.',
        'Reorder levels recalculated from three months of usage; stock reviewed weekly.',
        'No stock-out since the new reorder levels.',
        'Reorder levels must follow the workload, not last year.',
        departments='HAEM BIO SERO MICRO HISTO',
    ),
    _t(
        'eqas',
        'QC',
        'Unsatisfactory EQAS result for {test}',
        'The external quality assessment report shows an unacceptable result for {test} (SDI above 3).',
        'Internal QC and calibration history reviewed; patient results of the period spot-checked.',
        'Investigation done; transcription error while submitting the result, the analyser value was correct.',
        'Result typed into the EQAS portal by hand without a second check.',
        'Two-person check of EQAS submissions.',
        'Next EQAS cycle satisfactory.',
        'Even external QC needs a second pair of eyes on data entry.',
        departments='HAEM BIO SERO MICRO',
    ),
    # Reporting error
    _t(
        'units',
        'REP',
        'Report released with wrong units for {test}',
        'The {test} report for {pid} showed mg/dL where mmol/L was meant; the doctor called to query it.',
        'Report recalled, corrected and reissued with an amendment note.',
        'The unit in the LIS test master was changed during an update and not verified.',
        'Unverified change to the LIS test master.',
        'Test master changes need a second sign-off and a test report before going live.',
        'All test master entries reviewed; no other wrong units.',
        'A master-data change is a change to every future report.',
    ),
    _t(
        'wrong_patient',
        'REP',
        'Report sent to the wrong patient',
        'The report of {pid} was e-mailed to another patient with the same name.',
        'Recipient asked to delete the e-mail; correct patient informed and apologised to.',
        'Patients with the same name were selected by name only at dispatch.',
        'Dispatch matched on name alone, not on ID and date of birth.',
        'Dispatch screen requires two identifiers; reports sent through the patient portal link.',
        'Privacy incident documented; no repeat in the next month.',
        'Two identifiers at every hand-over, also when sending a report.',
    ),
    _t(
        'critical',
        'REP',
        'Critical value of {test} not called to the doctor',
        'A critical {test} result for {pid} was released at {time} but nobody phoned {doctor}.',
        'Doctor called as soon as it was noticed; patient being treated.',
        'The critical value was flagged but the call was missed during shift change.',
        'No owner for critical calls at shift change.',
        'Critical-call log with the time and the name of the person called; the LIS blocks release until logged.',
        'Critical-call log audited weekly for a month: complete.',
        'A critical value is not reported until someone has heard it.',
        departments='HAEM BIO MICRO SERO',
    ),
    _t(
        'typo',
        'REP',
        'Typing error in the {test} report',
        'The remarks of the {test} report of {pid} had a typing error that changed the meaning.',
        'Amended report issued.',
        'Free-text remarks typed under time pressure and not re-read.',
        'Free-text remarks with no second check.',
        'Standard comments offered as picklists; free text read back before release.',
        'Picklist in use; amendments down.',
        'Prefer standard comments to free text.',
    ),
    _t(
        'amended',
        'REP',
        'Amended report issued without an amendment note',
        'A corrected {test} report for {pid} was issued without saying what changed; the patient had both copies.',
        'Patient and doctor told which report is valid.',
        'The amendment workflow in the LIS was bypassed by editing the released report.',
        'Edit rights on released reports too wide.',
        'Only HODs may amend released reports; the LIS adds the amendment note.',
        'Rights changed and verified.',
        'A changed report must say that it changed.',
    ),
    # TAT delay
    _t(
        'tat_late',
        'TAT',
        '{test} reports delayed by {hours} hours',
        '{n} {test} reports due by {time} were released {hours} hours late; several patients called the front desk.',
        'Pending samples prioritised; patients informed.',
        'Workload spike with one technologist on leave; batch run started late.',
        'Staffing not matched to the Monday peak.',
        'Roster changed so two technologists cover the Monday morning peak.',
        'TAT within target for the following four Mondays.',
        'Plan staff for the peak, not for the average day.',
    ),
    _t(
        'late_home',
        'TAT',
        'Home collection samples reached the lab late',
        'Samples from {n} morning home visits reached the lab after {time}; reports missed the same-day promise.',
        'Samples processed on priority; patients told of the delay.',
        'Routes re-planned; one collector covered two areas because of absence.',
        'Route planning did not allow for traffic and absences.',
        'Routes planned the evening before with a cut-off; a standby collector on call.',
        'Same-day TAT for home visits back above target.',
        'Home collection TAT is decided by the route plan.',
        departments='HC',
    ),
    _t(
        'urgent',
        'TAT',
        'Urgent sample not prioritised',
        'An urgent {test} request from {doctor} waited in the routine queue for {mins} minutes.',
        'Sample run immediately; result phoned to the doctor.',
        'The urgent sticker was missing; the LIS priority flag was not set at registration.',
        'Priority depends on a sticker instead of the LIS flag.',
        'Registration screen asks for priority; urgent samples print a red label.',
        'Urgent TAT audit met target.',
        'Make urgency visible on the tube, not only on paper.',
    ),
    _t(
        'outsourced',
        'TAT',
        'Outsourced {test} results delayed',
        'Results for {n} samples sent to the reference lab for {test} are {hours} days late.',
        'Reference lab escalated; patients updated.',
        'Reference lab had an analyser breakdown and did not inform us.',
        'No notification agreement with the reference lab.',
        'Agreement updated: the reference lab informs us of any delay within 4 hours.',
        'Agreement signed; delays now reported the same day.',
        'Outsourcing the test does not outsource the responsibility for its TAT.',
    ),
    # IT / LIS
    _t(
        'lis_down',
        'LIS',
        'LIS down for {mins} minutes',
        'The LIS was unreachable for {mins} minutes from {time}; registrations and report release stopped.',
        'Manual registration forms used; results released once the LIS was back.',
        'Database server ran out of disk space because old logs were not rotated.',
        'Log rotation not configured on the LIS database server.',
        'Log rotation configured; disk space monitored with alerts to IT.',
        'Monitoring in place; no outage since.',
        'Keep a paper downtime procedure ready and practised.',
    ),
    _t(
        'interface',
        'LIS',
        'Interface not sending results from {analyser}',
        'Results from the {analyser} stopped reaching the LIS at {time}; {n} results had to be entered by hand.',
        'Results entered manually with a second person checking.',
        'Interface service restarted; queued results received.',
        'Interface service stopped after a Windows update restarted the PC.',
        'Automatic updates scheduled outside lab hours; interface service set to restart automatically.',
        'No interface stop in four weeks.',
        'Every hand-typed result is a chance of error: fix interfaces fast.',
        departments='HAEM BIO SERO MICRO',
    ),
    _t(
        'labels_blank',
        'LIS',
        'Barcode labels printing blank at {loc}',
        'The label printer at {loc} printed blank labels from {time}; patients queued for {mins} minutes.',
        'Labels written by hand with the patient ID; a spare printer brought from the main lab.',
        'Ribbon roll replaced; printer driver reinstalled.',
        'Ribbon roll of the wrong type installed.',
        'Consumables stocked with the right part numbers; spare printer at each centre.',
        'Printers working; spare in place.',
        'Keep a spare printer where patients queue.',
    ),
    _t(
        'portal',
        'LIS',
        'Patient portal shows pending reports as ready',
        'Patients received "report ready" messages for {test} reports that were still pending.',
        'Portal notifications paused; affected patients informed.',
        'Vendor fixed a status-mapping error in the last release.',
        'Release tested without the pending-report case.',
        'Vendor releases tested on a staging copy with a checklist before going live.',
        'Fix verified on staging and live.',
        'Test the unhappy paths of every release.',
    ),
    _t(
        'duplicate',
        'LIS',
        'Duplicate patient registration in the LIS',
        'Patient {pid} was registered twice at {loc}; the history of earlier results was split between two IDs.',
        'Records merged by the LIS administrator.',
        'Search by mobile number not done before creating a new registration.',
        'Registration screen does not warn about likely duplicates.',
        'Duplicate warning on mobile number and date of birth enabled.',
        'Duplicate registrations down.',
        'Search before you create.',
    ),
    # Patient complaint
    _t(
        'wait',
        'CMP',
        'Long waiting time at {loc}',
        'A patient complained of waiting {mins} minutes for a fasting sample at {loc}.',
        'Apologised; patient taken next.',
        'Morning rush with two counters open instead of three.',
        'Counter staffing does not follow the 7-10 am peak.',
        'Third counter opened 7-10 am; token display shows the expected wait.',
        'Average morning wait below 15 minutes.',
        'Fasting patients cannot wait: staff for the morning peak.',
        departments='SC FO HC',
    ),
    _t(
        'painful',
        'CMP',
        'Patient complained about a painful blood draw',
        'A patient at {loc} complained of pain and a large bruise after three attempts at venepuncture.',
        'Senior phlebotomist completed the draw; cold compress given; patient called the next day.',
        'Difficult vein; the junior phlebotomist did not call for help after two attempts.',
        'The two-attempt rule was not followed.',
        'Two-attempt rule reinforced; difficult-draw training for junior staff.',
        'Patient called back and satisfied; training attendance recorded.',
        'After two attempts, call a senior colleague.',
        departments='SC HC',
    ),
    _t(
        'late_visit',
        'CMP',
        'Home collection visit {mins} minutes late',
        'A fasting patient waited {mins} minutes past the slot for the home collector and complained.',
        'Apologised; collection done; report fast-tracked.',
        'Collector stuck in traffic; the patient was not informed.',
        'No rule to call the patient when running late.',
        'Collectors call ahead when more than 15 minutes late; the app sends live ETA.',
        'Late-visit complaints down.',
        'Tell patients early when you will be late.',
        departments='HC',
    ),
    _t(
        'billing',
        'CMP',
        'Patient charged for a test not done',
        'A patient was billed for {test} which was not done because the sample was rejected.',
        'Refund processed the same day.',
        'Cancelled test not removed from the bill after rejection.',
        'Rejection in the LIS does not update billing.',
        'LIS change: a rejected test is cancelled on the bill automatically.',
        'Billing audit found no further mismatch.',
        'Connect the systems so a rejection reaches billing.',
        departments='FO SC',
    ),
    _t(
        'behaviour',
        'CMP',
        'Complaint about behaviour at the front desk',
        'A patient complained that staff at {loc} were dismissive when asked about a delayed report.',
        'Manager apologised to the patient by phone.',
        'Staff member under pressure at the busy counter; no script for TAT queries.',
        'No guidance on answering report-status queries.',
        'Customer-service refresher; report status visible to front-desk staff in the LIS.',
        'Feedback scores at the front desk improved.',
        'Give front-desk staff the information they are asked for.',
        departments='FO SC',
    ),
    # Safety
    _t(
        'needle',
        'SAF',
        'Needle-stick injury during sample collection',
        'A phlebotomist at {loc} had a needle-stick injury while recapping a needle.',
        'Wound washed; reported to the infection control officer; baseline tests and PEP assessment done.',
        'Recapping despite the SOP; sharps container too far from the chair.',
        'Sharps container out of reach; habit of recapping.',
        "Sharps containers at arm's reach at every chair; no-recapping reminder; safety needles trialled.",
        'Follow-up tests negative; no further injury.',
        'Never recap: put the sharps bin where the hand goes.',
        departments='SC HC MICRO HAEM',
    ),
    _t(
        'spill',
        'SAF',
        'Blood spill at {loc}',
        'A rack of samples fell at {loc}; blood spilled on the floor and bench.',
        'Area cordoned off; spill cleaned with 1 % hypochlorite as per SOP.',
        'Rack carried with one hand together with other items.',
        'No tray for carrying racks.',
        'Carry trays provided; spill kits checked monthly.',
        'Spill kit audit satisfactory.',
        'Know where the spill kit is before you need it.',
    ),
    _t(
        'waste',
        'SAF',
        'Biomedical waste not segregated',
        'Sharps and gloves were found in the general waste bin at {loc} during the round.',
        'Waste re-segregated with PPE; staff on duty informed.',
        'Colour-coded bins were placed far from the work area.',
        'Bin placement and unclear labels.',
        'Colour-coded bins at each workstation with pictorial labels; monthly waste audit.',
        'Monthly audit compliant.',
        'Segregation happens at the point of generation.',
    ),
    _t(
        'extinguisher',
        'SAF',
        'Fire extinguisher past its refill date',
        'During the safety round the extinguisher near the {dept} was found four months past its refill date.',
        'Replacement extinguisher installed the same day.',
        'Refill vendor changed and the schedule was not handed over.',
        'Refill schedule kept by one person only.',
        'Refill dates in the facility calendar with reminders; quarterly fire safety round.',
        'All extinguishers within date.',
        'Safety schedules must not depend on one person.',
    ),
    _t(
        'bsc',
        'SAF',
        'Biosafety cabinet airflow alarm',
        'The biosafety cabinet alarmed for low airflow while cultures were being processed.',
        'Work stopped, cultures closed, cabinet switched off and decontaminated.',
        'HEPA filter clogged; certification overdue.',
        'Annual certification missed.',
        'Cabinet recertified; certification date added to the equipment calendar.',
        'Certificate on file.',
        'Biosafety equipment needs its certificate on time, every time.',
        departments='MICRO',
    ),
]

AUTO_TEMPLATES = [  # raised by other systems through POST /api/hiccups/auto_generate
    _t(
        'auto_interface',
        'LIS',
        'Interface error: no results from {analyser} for {mins} minutes',
        'LIS middleware raised this automatically: no result messages from the {analyser} since {time}.',
        '',
        'Interface service restarted; queued results received and verified.',
        'Interface service stopped after the analyser PC restarted.',
        'Interface service set to start automatically; restart alert added to the middleware.',
        'Automatic alert verified.',
        'Automatic alerts find interface stops before the doctors do.',
    ),
    _t(
        'auto_tat',
        'TAT',
        'TAT breach: {n} {test} samples past due',
        'LIS raised this automatically: {n} {test} samples passed their promised TAT at {time}.',
        '',
        'Backlog cleared; cause was a late batch run.',
        'Batch run started late after a calibration failure.',
        'Calibration moved before the morning batch.',
        'TAT monitored for two weeks.',
        'An automatic TAT alert gives time to act before patients call.',
    ),
    _t(
        'auto_error',
        'EQP',
        'Analyser error {code} on {analyser}',
        'Middleware raised this automatically: the {analyser} reported error {code} ({error}) three times in an hour.',
        '',
        'Engineer visited; {part} replaced; QC passed.',
        'Worn {part}.',
        'Spare {part} stocked; error counts reviewed in the weekly meeting.',
        'No repeat of the error code.',
        'Repeated error codes are early warnings: act on the second, not the tenth.',
    ),
]

ERRORS = ('sample probe clog', 'reagent probe crash', 'cuvette wash error', 'temperature out of range', 'ISE noise')
PARTS = ('sample probe', 'ISE electrode', 'wash pump tubing', 'halogen lamp', 'syringe seal', 'vacuum pump')
DOCTORS = ('Dr. Mehta', 'Dr. Iyer', 'Dr. Banerjee', 'Dr. Khan', 'Dr. Reddy', 'Dr. Fernandes')
SATISFIED = (
    'Resolved, thank you.',
    'No repeat since the fix.',
    'Satisfied with the action taken.',
    'Working fine now.',
    'Thanks for the quick response.',
)
NOT_SATISFIED = (
    'The same problem happened again this week.',
    'The fix was temporary; it is failing again.',
    'Nobody told the night shift about the change.',
    'The root cause does not match what we saw at the bench.',
)
RCA_FACTORS = (
    'workload peaks without extra staff',
    'SOP not updated after the last equipment change',
    'training records incomplete for new joiners',
    'no second check at the hand-over',
    'maintenance schedule kept on paper',
)
PREVENTIVE = (
    'Add the check to the monthly internal audit checklist',
    'Train all shifts on the revised SOP and record attendance',
    'Revise {sop} and circulate it to every section',
    'Add the item to the weekly quality meeting for three months',
    'Review the same risk in the other departments',
)
EFFECTIVE = (
    'No recurrence in {weeks} weeks of monitoring; audit of {n} records found full compliance.',
    'Trend of similar hiccups down from {n} a month to none; actions effective.',
    'Spot checks on {n} occasions all compliant; training records complete.',
)
NOT_EFFECTIVE = (
    'Two similar events in the monitoring period; actions not effective yet.',
    'Audit found the new step skipped on night shifts; needs more work.',
)

# ---- Issues tracker: what reporters write and maintainers answer (tools/demo/issues.py) ----

ISSUE_TAGS = {  # name → description
    'LIS': 'The laboratory information system: registration, worklists, results, reports.',
    'analyser': 'Analyser interfaces, middleware and instrument PCs.',
    'network': 'LAN, Wi-Fi, internet links, VPN to the collection centres.',
    'printer': 'Barcode label, report and receipt printers.',
    'reagent': 'Reagent and consumable tracking, stock, expiry alerts.',
    'UI': 'Screens that are confusing, slow or wrong.',
    'access': 'Accounts, passwords, roles and sign-in.',
    'portal': 'The patient and doctor report portal, SMS and e-mail of reports.',
}


@dataclasses.dataclass(frozen=True)
class IssueTemplate:
    key: str
    title: str
    description: str  # Markdown
    resolution: str  # Markdown
    tags: tuple[str, ...]
    weights: tuple[float, float, float, float] = (20, 50, 22, 8)  # LOW, MEDIUM, HIGH, CRITICAL


def _i(key: str, tags: str, title: str, description: str, resolution: str, weights=None) -> IssueTemplate:
    return IssueTemplate(key, title, description, resolution, tuple(tags.split()), weights or (20, 50, 22, 8))


ISSUE_TEMPLATES = [
    _i(
        'label_cut',
        'printer LIS',
        'Barcode labels cut off at {site}',
        'The **{printer}** at {site} prints the sample barcode with the last digits cut off since this morning.\n\n'
        '- happens on every label, not only some\n'
        '- restarting the printer did not help\n'
        '- the analysers cannot read the cut labels\n\n'
        'We are labelling by hand meanwhile, which is slow at peak hours.',
        'Label width in the printer driver had been reset to `50 mm` by a Windows update; set back to `38 mm` and '
        'the driver update **paused** on all label PCs.',
        (10, 45, 35, 10),
    ),
    _i(
        'result_not_transferred',
        'analyser LIS',
        'Results from {analyser} not reaching the LIS',
        'Results validated on the **{analyser}** are not showing in the LIS worklist. Since about {time}:\n\n'
        '1. results show as *sent* on the analyser\n'
        '2. the LIS worklist still shows the samples as *pending*\n\n'
        'About {n} samples are waiting; we are entering results by hand for the urgent ones.',
        'The interface service on the instrument PC had stopped after a disk-full error (`{code}`). Old log files '
        'cleared, the service restarted and the pending results re-sent; a **disk-space alert** now watches that PC.',
        (5, 30, 45, 20),
    ),
    _i(
        'lis_slow',
        'LIS UI',
        'LIS very slow at registration during the morning rush',
        'Between 8 and 10 in the morning registering a patient takes **over a minute** per patient at {site}. '
        'The queue at the counter is getting long.\n\n'
        '- search by phone number is the slowest step\n'
        '- other screens are fine',
        'The patient search by phone number had no index. Index added on `patients.phone`; search now takes under '
        'a second even at peak.',
    ),
    _i(
        'lis_down',
        'LIS network',
        'LIS not reachable from {site}',
        'Nobody at **{site}** can open the LIS since {time}. The browser shows `ERR_CONNECTION_TIMED_OUT`.\n\n'
        'Internet works on the same PCs. We are writing registrations in the paper register.',
        'The VPN tunnel between {site} and the main lab dropped after the ISP changed the public IP. Tunnel set up '
        'again with the new address; we asked the ISP for a **static IP** so it does not happen again.',
        (0, 15, 45, 40),
    ),
    _i(
        'wifi',
        'network',
        'Wi-Fi drops every few minutes in {dept}',
        'The Wi-Fi in {dept} keeps dropping; the tablets lose the worklist and we have to **sign in again**.\n\n'
        '- started after the room was rearranged\n'
        '- worse in the afternoon',
        'The access point had been moved behind the new steel cabinet. Moved to the ceiling and switched to the '
        '`5 GHz` band; signal checked at every bench.',
        (25, 55, 18, 2),
    ),
    _i(
        'report_printer_jam',
        'printer',
        'Report printer at {site} jams on every other page',
        'The **report printer** at {site} jams on every second page and patients are waiting for their reports. '
        'We have tried:\n\n'
        '- opening and cleaning the paper path\n'
        '- a new ream of paper\n\n'
        'Error on the panel: `{code}`.',
        'Pick-up roller worn out; replaced by the vendor under the AMC. Spare roller kit now kept at {site}.',
        (20, 55, 22, 3),
    ),
    _i(
        'reagent_expiry',
        'reagent LIS',
        'Reagent expiry alert not shown for {analyser} reagents',
        'The LIS did not warn us that the **{test}** reagent lot on the {analyser} expires this week. We found it '
        'by chance during the morning check.\n\n'
        'Expected: the usual *expiring in 7 days* banner on the dashboard.',
        'The lot had been entered with the expiry date in `MM/DD` order, so it looked valid for another year. '
        "Date field now takes a date picker only, and last month's lots were checked.",
        (15, 50, 30, 5),
    ),
    _i(
        'stock_count',
        'reagent',
        'Stock count for {test} kits does not match the fridge',
        'The reagent stock screen says **{n} kits** of {test} are in stock; the fridge has far fewer. Orders are '
        'raised from this number, so we may run out.',
        'Kits moved to the collection centres were never booked out. The transfer screen is now required for any '
        'move, and the count was corrected after a physical stock check.',
        (20, 55, 22, 3),
    ),
    _i(
        'password_reset',
        'access',
        'Cannot reset my password',
        'The *forgot password* e-mail never arrives. I have checked spam. My account is locked after three tries '
        'and I cannot open the worklist.',
        'Our outgoing mail was rejected by the new mail provider (`SPF` record missing). Record added; reset mails '
        'arrive within a minute now. The account was unlocked.',
        (30, 55, 13, 2),
    ),
    _i(
        'new_joiner_access',
        'access',
        'New joiner in {dept} has no LIS access',
        'A new technician joined **{dept}** on Monday and still has no LIS account. Please create one with the '
        'same rights as the other technicians:\n\n'
        '- result entry\n'
        '- worklist printing\n'
        '- *no* report authorisation',
        'Account created with the technician role of {dept}; the joining checklist now includes the LIS account '
        'request so HR raises it before day one.',
        (35, 55, 10, 0),
    ),
    _i(
        'role_too_wide',
        'access LIS',
        'Front office staff can authorise reports',
        'While training a new joiner I noticed that the **front office role** shows the *Authorise* button on '
        'reports. Front office should never authorise results.',
        'A permission was added to the wrong role in the last update. Removed; audit log checked: **no report was '
        'authorised** by front office staff in the period.',
        (5, 20, 45, 30),
    ),
    _i(
        'portal_sms',
        'portal',
        'Patients not receiving the report SMS',
        'Several patients called {site} saying they got no SMS with the report link. The portal shows the '
        'reports as *sent*.\n\n'
        'Examples: sample IDs `{sample}` and two others from yesterday.',
        "The SMS provider's DLT template had expired. Template renewed and the failed messages of the last two "
        'days re-sent; a daily check of the delivery report was added.',
        (10, 45, 35, 10),
    ),
    _i(
        'portal_pdf',
        'portal UI',
        'Report PDF on the portal shows the wrong logo',
        'Reports downloaded from the patient portal still carry the **old lab logo** and the old address. Doctors '
        'have asked whether we moved.',
        'The portal used its own copy of the letterhead. It now takes the letterhead from the LIS, so there is '
        'only one to update.',
        (40, 50, 10, 0),
    ),
    _i(
        'units_wrong',
        'LIS',
        '{test} printed with the wrong unit',
        'The report for **{test}** prints the unit as `mg/dL` although the analyser reports `mmol/L`. The values '
        'are right, the unit is not.\n\n'
        'Seen on sample `{sample}`; probably on every report since the last update.',
        'The test master had been overwritten when the update re-imported the test list. Unit corrected; the '
        'reports printed since the update were **re-issued** with a note to the doctors.',
        (0, 20, 50, 30),
    ),
    _i(
        'worklist_sort',
        'UI LIS',
        'Worklist sorted by name instead of sample time',
        'Since {version} the {dept} worklist is sorted by patient name, so **urgent samples** get lost in the '
        'middle. Could we have it sorted by collection time again, urgent ones first?',
        "Default sort restored to `priority, collected_at`; each user's own sort is now remembered.",
        (30, 55, 13, 2),
    ),
    _i(
        'date_format',
        'UI',
        'Date of birth field takes the date the wrong way round',
        'Typing `03/04/1980` into the date of birth saves it as **4 March** instead of 3 April. Two patients '
        'already have the wrong age on their reports.',
        'The field now shows `DD/MM/YYYY` as a hint and refuses an ambiguous entry; the two records were corrected.',
        (15, 50, 30, 5),
    ),
    _i(
        'qc_screen',
        'UI analyser',
        'QC chart does not show the last week for {analyser}',
        'The Levey-Jennings chart for the **{analyser}** stops a week ago, though QC has been run every day. The '
        'QC values are in the LIS; only the chart is missing them.',
        'The chart filtered by the old QC lot number. It now follows the lot in use and shows a line where the lot '
        'changed.',
        (25, 55, 17, 3),
    ),
    _i(
        'scanner',
        'analyser',
        'Barcode scanner on {analyser} misreads sample IDs',
        'The built-in scanner of the **{analyser}** reads some sample IDs with one digit wrong, so results land on '
        'another sample number. Caught {n} so far at verification.\n\n'
        '- only labels from the new roll\n'
        '- older labels scan fine',
        'The new label roll had a lower print contrast. Contrast raised in the printer settings and the barcode '
        'check digit switched **on**, so a misread is now refused instead of mismatched.',
        (0, 20, 50, 30),
    ),
    _i(
        'middleware_restart',
        'analyser network',
        'Middleware PC restarts itself at night',
        'The **middleware PC** in the main lab restarts around `02:00` most nights; the night shift loses the '
        'results queue for about ten minutes.',
        'Automatic Windows updates were set to restart at 02:00. Updates now run in the Sunday 14:00 maintenance '
        'window, with the lab told in advance.',
        (20, 55, 22, 3),
    ),
    _i(
        'export_excel',
        'UI LIS',
        'Monthly TAT export to Excel is empty',
        'Exporting the **monthly TAT report** to Excel gives a file with only the header row. The same report on '
        'screen has data.',
        "The export used the server's timezone, so the date range fell a day short and matched nothing. Fixed to "
        "use the lab's timezone.",
        (35, 55, 10, 0),
    ),
    _i(
        'billing_mismatch',
        'LIS',
        'Bill total does not match the tests ordered',
        'For some home-collection orders the bill shows one test more than the order. Patient complained about '
        'being charged for **{test}** twice.',
        'Re-ordering an edited test created a second charge line. Fixed; the affected bills of the last month '
        'were corrected and the patients refunded.',
        (10, 50, 35, 5),
    ),
    _i(
        'tablet_sync',
        'network portal',
        'Home collection tablet does not sync orders',
        "The field tablet does not download the next day's home-collection orders over **mobile data**; it only works "
        'on the office Wi-Fi.\n\n'
        'Phlebotomists have to come to the office before their first visit.',
        'The sync app was allowed only on Wi-Fi after a data-saving setting was pushed to the tablets. Setting '
        'reverted for the sync app.',
        (20, 55, 22, 3),
    ),
    _i(
        'critical_alert',
        'LIS UI',
        'Critical value alert not shown to the doctor on duty',
        "A critical **potassium** result was not flagged on the doctor's screen; it was noticed only at report "
        'review, {n} minutes later.',
        'Critical limits for the new test code had not been copied from the old one. Limits copied for **all** '
        'tests of the update and a check added to the test-master review.',
        (0, 10, 40, 50),
    ),
]

ISSUE_NOT_A_FAULT = (  # resolving straight from triaged: nothing to fix
    'Duplicate: already fixed under an earlier issue; the fix reached {site} with the last update.',
    'Could not reproduce. Works on every PC at {site} now; please **reopen** if it happens again.',
    'Works as designed: the screen shows only the last 30 days by default. Use the *From* date to see older records.',
    'Training need, not a fault: walked the team through the steps and added them to the quick guide.',
)
ISSUE_REOPEN_COMMENTS = (
    'Still happening today, same as before.',
    'It worked for two days, now the same problem again.',
    'Fixed at the main lab, but **{site}** still has it.',
    'Only half fixed: the urgent samples are still affected.',
)
ISSUE_SECOND_RESOLUTIONS = (
    'Second fix after the reopen: the first change had not reached every PC. Pushed to all machines and checked '
    'with the reporter.',
    'Root cause was deeper than the first fix: {resolution}',
    'Done properly this time: the setting is now locked centrally, so a local change cannot undo it.',
)
ISSUE_PROGRESS_COMMENTS = (
    'Looking into it; vendor ticket raised.',
    'Reproduced here. Fix planned for this week.',
    'Waiting for the vendor engineer visit.',
)
