"""Danish (default) and English texts of the app. A missing key shows the key itself, and a test checks
that every key the templates use exists in both languages."""

from __future__ import annotations

from collections.abc import Callable

from screening.eligibility import TARGET_GROUPS

# key -> (Danish, English)
TEXTS: dict[str, tuple[str, str]] = {
    "skip_to_content": ("Spring til indhold", "Skip to content"),
    "main_navigation": ("Hovedmenu", "Main navigation"),
    "my_lists": ("Mine lister", "My lists"),
    "aggregates": ("Overblik (tal)", "Aggregates"),
    "audit_log": ("Adgangslog", "Audit log"),
    "users": ("Brugere", "Users"),
    "log_in": ("Log ind", "Log in"),
    "log_out": ("Log ud", "Log out"),
    "username": ("Brugernavn", "Username"),
    "password": ("Adgangskode", "Password"),
    "login_notice": (
        "Al adgang til borgeroplysninger logges med bruger, tid og formål.",
        "Every access to citizen data is logged with user, time and purpose.",
    ),
    "one_time_code": ("Engangskode (6 cifre)", "One-time code (6 digits)"),
    "totp_title": ("Totrins-login", "Two-step sign-in"),
    "list_withdrawn": (
        "{count} borger(e) er taget af listen efter indsigelse mod behandlingen.",
        "{count} citizen(s) were withdrawn from this list after objecting to the processing.",
    ),
    "totp_intro": (
        "Sæt en godkendelses-app op (fx Microsoft Authenticator eller FreeOTP). Derefter skal du bruge en "
        "engangskode fra appen, hver gang du logger ind.",
        "Set up an authenticator app (for example Microsoft Authenticator or FreeOTP). From then on you "
        "sign in with a one-time code from the app as well as your password.",
    ),
    "totp_step_open": ("På telefonen: åbn linket i appen.", "On the phone: open the link in the app."),
    "totp_open_in_app": ("Åbn i godkendelses-appen", "Open in the authenticator app"),
    "totp_step_manual": ("Eller tast nøglen ind i appen:", "Or type the key into the app:"),
    "totp_account": ("Konto", "Account"),
    "totp_key": ("Nøgle", "Key"),
    "totp_kind": ("Type", "Type"),
    "totp_kind_value": ("Tidsbaseret, 6 cifre, 30 sekunder", "Time-based, 6 digits, 30 seconds"),
    "totp_step_confirm": (
        "Skriv den kode, appen viser nu, og bekræft.",
        "Enter the code the app shows now, and confirm.",
    ),
    "totp_shown_once": (
        "Nøglen vises kun denne ene gang. Den gælder først, når du har bekræftet den med en kode.",
        "The key is shown this once only. It takes effect only after you confirm it with a code.",
    ),
    "totp_confirm": ("Bekræft og slå til", "Confirm and switch on"),
    "totp_wrong_code": (
        "Koden passede ikke. Her er en ny nøgle: fjern den gamle fra appen og sæt den nye op.",
        "That code did not match. Here is a new key: remove the old one from the app and add this one.",
    ),
    "totp_enrolled_now": ("Totrins-login er slået til.", "Two-step sign-in is on."),
    "totp_active": (
        "Din konto bruger totrins-login. Har du mistet telefonen, så bed administratoren om en ny nøgle.",
        "Your account uses two-step sign-in. If you lost the phone, ask the admin for a new key.",
    ),
    "totp_external": (
        "Du logger ind med kommunens login; dets totrins-login gælder.",
        "You sign in through the municipality's login; its two-step sign-in applies.",
    ),
    "one_time_code_hint": (
        "Fra din godkendelses-app. Lad feltet stå tomt, hvis du ikke har sat en op.",
        "From your authenticator app. Leave it empty if you have not set one up.",
    ),
    "reauthenticate": ("Bekræft at det er dig", "Confirm it is you"),
    "reauthenticate_why": (
        "En eksport med CPR-numre og navne kræver, at du bekræfter din identitet igen.",
        "An export with CPR numbers and names needs you to confirm your identity again.",
    ),
    "confirm": ("Bekræft", "Confirm"),
    "signed_in": ("Du er logget ind", "You are signed in"),
    "continue": ("Fortsæt", "Continue"),
    "security_events": ("Sikkerhedshændelser", "Security events"),
    "security_events_intro": (
        "Afviste forespørgsler og mislykkede log ind. Viser kun rute-skabeloner, aldrig borgeroplysninger.",
        "Denied requests and failed sign-ins. Shows route templates only, never citizen data.",
    ),
    "no_security_events": ("Ingen sikkerhedshændelser.", "No security events."),
    "request": ("Forespørgsel", "Request"),
    "answer": ("Svar", "Answer"),
    "reason": ("Årsag", "Reason"),
    "session": ("Session", "Session"),
    "client": ("Klient", "Client"),
    "show": ("Vis", "Show"),
    "created_by": ("Oprettet af", "Created by"),
    "approved_by": ("Godkendt af", "Approved by"),
    "pending_approval": ("Afventer godkendelse", "Awaiting approval"),
    "approve": ("Godkend", "Approve"),
    "notice_pending": (
        "Kontoen er oprettet, men kan først bruges, når en anden administrator har godkendt den.",
        "The account was created but cannot be used until a second admin approves it.",
    ),
    "four_eyes_on": (
        "Klinisk adgang og administratorrettigheder kræver godkendelse af en anden administrator.",
        "Clinical access and admin rights need a second admin's approval.",
    ),
    "four_eyes_off": (
        "Godkendelse af en anden administrator er slået fra i denne installation.",
        "Approval by a second admin is switched off in this installation.",
    ),
    "error_approval": (
        "Kontoen kan ikke godkendes af dig: en anden administrator end den, der bad om adgangen, "
        "skal godkende.",
        "You cannot approve this account: an admin other than the one who asked for the access must.",
    ),
    "error_busy": (
        "Der er mange log ind lige nu. Prøv igen om et øjeblik.",
        "Many sign-ins are running right now. Try again in a moment.",
    ),
    "error_totp_enrol": (
        "Din konto skal have en engangskode-app. Bed administratoren om at køre `tidlig users totp`.",
        "Your account needs an authenticator app. Ask the admin to run `tidlig users totp`.",
    ),
    "error_title": ("Det gik ikke", "Something went wrong"),
    "error_login_required": ("Log ind for at fortsætte.", "Please log in to continue."),
    "error_audit_unavailable": (
        "Adgangsloggen kan ikke skrives lige nu, så der vises ingen borgeroplysninger. Prøv igen senere, "
        "eller kontakt systemansvarlig.",
        "The audit log cannot be written right now, so no citizen data is shown. Try again later or "
        "contact the system administrator.",
    ),
    "error_forbidden": ("Du har ikke adgang til denne side.", "You do not have access to this page."),
    "error_not_found": (
        "Siden findes ikke, eller den ligger uden for dine distrikter.",
        "The page does not exist or is outside your districts.",
    ),
    "error_throttled": (
        "For mange mislykkede forsøg. Vent 15 minutter, og prøv igen.",
        "Too many failed attempts. Wait 15 minutes and try again.",
    ),
    "error_bad_credentials": ("Forkert brugernavn eller adgangskode.", "Wrong username or password."),
    "error_csrf": (
        "Formularen var udløbet. Genindlæs siden, og prøv igen.",
        "The form had expired. Reload the page and try again.",
    ),
    "error_generic": ("Der opstod en fejl.", "An error occurred."),
    "error_action_required": ("Vælg hvad der er sket.", "Choose what happened."),
    "error_finding_required": (
        "Ved et gennemført besøg skal du angive, om der blev fundet et nyt problem.",
        "For a completed visit, say whether a new problem was found.",
    ),
    "error_reason_required": (
        "Angiv hvorfor borgeren ikke er relevant.",
        "Give the reason why the citizen is not relevant.",
    ),
    "error_account": (
        "Brugeren kunne ikke oprettes (navn optaget, ukendt rolle eller manglende distrikt).",
        "The user could not be created (name taken, unknown role or missing district).",
    ),
    "error_password": (
        "Adgangskoden skal have mindst 12 tegn og må ikke være let at gætte (fx et almindeligt ord med tal).",
        "The password needs at least 12 characters and must not be easy to guess "
        "(e.g. a common word and digits).",
    ),
    "back_to_start": ("Til forsiden", "Back to start"),
    "no_lists": (
        "Der er endnu ingen lister for dine distrikter.",
        "There are no lists for your districts yet.",
    ),
    "district": ("Distrikt", "District"),
    "districts": ("Distrikter", "Districts"),
    "as_of": ("Opgjort pr.", "As of"),
    "citizens": ("Borgere", "Citizens"),
    "citizen": ("Borger", "Citizen"),
    "list_status": ("Liste", "List"),
    "list_current": ("aktuel", "current"),
    "list_superseded": ("erstattet", "superseded"),
    "list": ("Liste", "List"),
    "list_summary": ("{total} borgere (kapacitet {capacity}).", "{total} citizens (capacity {capacity})."),
    "export_csv": ("Eksportér CSV", "Export CSV"),
    "export_print": ("Udskriftsvenlig", "Printable"),
    "identities_unavailable": (
        "Nøglelageret er ikke tilgængeligt; borgere vises med pseudonym.",
        "The key store is unavailable; citizens are shown by pseudonym.",
    ),
    "identity_missing": ("(ukendt i nøglelager)", "(not in key store)"),
    "pseudonym": ("Pseudonym", "Pseudonym"),
    "filter_and_sort": ("Filtrér og sortér", "Filter and sort"),
    "status": ("Status", "Status"),
    "all": ("Alle", "All"),
    "assignee": ("Ansvarlig", "Assignee"),
    "assigned_to_me": ("Mine", "Assigned to me"),
    "unassigned": ("Ikke fordelt", "Unassigned"),
    "flag": ("§79a-gruppe", "§79a group"),
    "flags": ("§79a", "§79a"),
    "sort_by": ("Sortér efter", "Sort by"),
    "sort_rank": ("Rang", "Rank"),
    "sort_risk": ("Risiko", "Risk"),
    "sort_change": ("Største stigning", "Largest increase"),
    "new_only": ("Kun nye på listen", "New on list only"),
    "apply": ("Vis", "Apply"),
    "showing": ("Viser {shown} af {total}.", "Showing {shown} of {total}."),
    "rank": ("Rang", "Rank"),
    "risk": ("Risiko", "Risk"),
    "change": ("Ændring", "Change"),
    "change_none": ("–", "–"),
    "risk_up": ("Risikoen er steget siden sidste liste", "Risk rose since the previous list"),
    "risk_down": ("Risikoen er faldet siden sidste liste", "Risk fell since the previous list"),
    "reasons": ("Begrundelser", "Reasons"),
    "new_on_list": ("Ny", "New"),
    "no_rows": ("Ingen borgere matcher filteret.", "No citizens match the filter."),
    "pages": ("Sider", "Pages"),
    "previous": ("Forrige", "Previous"),
    "next": ("Næste", "Next"),
    "page_of": ("Side {page} af {pages}", "Page {page} of {pages}"),
    "status_new": ("Ikke behandlet", "Not handled"),
    "status_contacted": ("Kontaktet", "Contacted"),
    "status_visit_booked": ("Besøg aftalt", "Visit booked"),
    "status_visit_done": ("Besøg gennemført", "Visit done"),
    "status_not_relevant": ("Ikke relevant", "Not relevant"),
    "outcome_admission": ("indlæggelse", "admission"),
    "outcome_death": ("død", "death"),
    "outcome_frailty": ("skrøbelighed", "frailty"),
    "back_to_list": ("Tilbage til listen", "Back to the list"),
    "saved": ("Gemt.", "Saved."),
    "why_on_list": ("Hvorfor på listen", "Why on the list"),
    "suggested_action": ("Forslag", "Suggested action"),
    "risk_history": ("Risiko på tidligere lister", "Risk on past lists"),
    "admissions": ("Seneste indlæggelser", "Recent admissions"),
    "acute": ("akut", "acute"),
    "none_recorded": ("Intet registreret.", "Nothing recorded."),
    "home_care": ("Hjemmepleje", "Home care"),
    "home_care_note": (
        "Minutter pr. uge, personlig pleje og praktisk hjælp.",
        "Minutes per week, personal care and practical help.",
    ),
    "fsiii": ("FSIII funktionsevne", "FSIII functional ability"),
    "code": ("Kode", "Code"),
    "score": ("Score", "Score"),
    "date": ("Dato", "Date"),
    "medicines_falls_weight": ("Medicin, fald og vægt", "Medicines, falls and weight"),
    "medicines_count": ("Forskellige lægemidler (90 dage)", "Different medicines (90 days)"),
    "falls": ("Fald", "Falls"),
    "with_injury": ("med skade", "with injury"),
    "record_decision": ("Registrér handling", "Record a decision"),
    "what_happened": ("Hvad er der sket?", "What happened?"),
    "visit_finding": ("Fund ved besøget", "Finding at the visit"),
    "visit_finding_help": ("Kun ved gennemført besøg.", "Only for a completed visit."),
    "new_problem_yes": ("Nyt problem fundet", "New problem found"),
    "new_problem_no": ("Intet nyt problem", "No new problem"),
    "referred_to_gp": ("Henvist til egen læge", "Referred to GP"),
    "not_relevant_reason": ("Begrundelse for ikke relevant", "Reason for not relevant"),
    "reason_already_followed": ("Følges allerede tæt", "Already followed closely"),
    "reason_nursing_home": ("Bor i plejebolig", "Lives in a nursing home"),
    "reason_declined": ("Ønsker ikke besøg", "Declined a visit"),
    "reason_moved_or_deceased": ("Fraflyttet eller død", "Moved away or deceased"),
    "reason_other": ("Andet (skriv i note)", "Other (explain in note)"),
    "note": ("Note (undgå unødige helbredsoplysninger)", "Note (avoid unnecessary health details)"),
    "save_decision": ("Gem", "Save"),
    "assign": ("Fordel", "Assign"),
    "decision_history": ("Historik", "History"),
    "by": ("Af", "By"),
    "details": ("Detaljer", "Details"),
    "no_decisions": ("Ingen registreringer endnu.", "Nothing recorded yet."),
    "notes_column": ("Noter", "Notes"),
    "print_notice": (
        "Fortroligt: indeholder personoplysninger. Opbevares og makuleres efter kommunens regler.",
        "Confidential: contains personal data. Store and shred according to municipal rules.",
    ),
    "suppression_note": (
        "Tal under {n} personer vises som <{n} for at beskytte borgerne; * er et tal, der skjules, så et "
        "tal under {n} ikke kan regnes ud fra de andre.",
        "Counts below {n} persons are shown as <{n} to protect the citizens; * is a count withheld so that "
        "a count below {n} cannot be worked out from the others.",
    ),
    "lists_and_status": ("Lister og status", "Lists and status"),
    "yield_by_district": ("Udbytte af besøg pr. distrikt", "Visit yield per district"),
    "yield_by_reason": ("Udbytte af besøg pr. begrundelse", "Visit yield per reason"),
    "group": ("Gruppe", "Group"),
    "decided": ("Behandlet", "Handled"),
    "new_problems": ("Nye problemer", "New problems"),
    "yield": ("Udbytte", "Yield"),
    "chain_ok": (
        "Loggen er intakt ({rows} rækker kontrolleret mod de signerede ankre og beskyttelserne).",
        "The log is intact ({rows} rows checked against the signed anchors and the protections).",
    ),
    "chain_broken": (
        "Loggen er manipuleret eller beskadiget fra række {seq}. Kontakt sikkerhedsansvarlig.",
        "The log has been tampered with or damaged from row {seq}. Contact the security officer.",
    ),
    "who_looked": ("Hvem har set borgeren, hvornår og hvorfor", "Who looked at this citizen, when and why"),
    "search": ("Søg", "Search"),
    "time": ("Tidspunkt (UTC)", "Time (UTC)"),
    "role": ("Rolle", "Role"),
    "unit": ("Enhed", "Unit"),
    "action": ("Handling", "Action"),
    "purpose": ("Formål", "Purpose"),
    "persons_shown": ("Borgere vist", "Persons shown"),
    "no_records": ("Ingen rækker.", "No rows."),
    "action_list_view": ("Så liste", "Viewed list"),
    "action_citizen_view": ("Så borger", "Viewed citizen"),
    "action_export": ("Eksporterede", "Exported"),
    "action_decision": ("Registrerede handling", "Recorded decision"),
    "action_assignment": ("Fordelte", "Assigned"),
    "action_aggregate_view": ("Så overblik", "Viewed aggregates"),
    "action_audit_view": ("Så adgangslog", "Viewed audit log"),
    "action_login": ("Loggede ind", "Signed in"),
    "action_login_failed": ("Mislykket login", "Failed sign-in"),
    "action_login_throttled": ("Login blokeret", "Sign-in blocked"),
    "action_logout": ("Loggede ud", "Signed out"),
    "action_reauthenticated": ("Bekræftede identitet", "Confirmed identity"),
    "action_reauthentication_failed": ("Mislykket bekræftelse", "Failed identity check"),
    "action_account_created": ("Oprettede konto", "Created account"),
    "action_account_access_changed": ("Ændrede adgang", "Changed access"),
    "action_account_approved": ("Godkendte adgang", "Approved access"),
    "action_account_deactivated": ("Deaktiverede konto", "Deactivated account"),
    "action_account_reactivated": ("Genaktiverede konto", "Reactivated account"),
    "action_account_totp_enrolled": ("Satte engangskode op", "Set up one-time codes"),
    "action_access_denied": ("Adgang nægtet", "Access denied"),
    "action_security_events_view": ("Så sikkerhedshændelser", "Viewed security events"),
    "purpose_account_administration": ("Brugeradministration", "Account administration"),
    "purpose_security": ("Sikkerhed", "Security"),
    "role_operator": ("Driftsansvarlig (kommandolinje)", "Operator (command line)"),
    "role_identity_provider": ("Login-udbyder", "Identity provider"),
    "purpose_care_follow_up": ("Opfølgning i pleje", "Care follow-up"),
    "purpose_evaluation": ("Evaluering", "Evaluation"),
    "purpose_audit_review": ("Kontrol af adgang", "Access review"),
    "purpose_authentication": ("Log ind og ud", "Sign-in and sign-out"),
    "role_nurse": ("sygeplejerske", "nurse"),
    "role_gp": ("læge", "GP"),
    "role_coordinator": ("koordinator", "coordinator"),
    "role_analyst": ("analytiker", "analyst"),
    "role_admin": ("administrator", "admin"),
    "role_unknown": ("ukendt", "unknown"),
    "active": ("Aktiv", "Active"),
    "activate": ("Aktivér", "Activate"),
    "deactivate": ("Deaktivér", "Deactivate"),
    "add_user": ("Opret bruger", "Add user"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    # analyst monitoring pages (review/web_monitoring.py)
    "monitoring": ("Overvågning", "Monitoring"),
    "monitoring_intro": (
        "Hvad blev forventet af hver liste, hvad skete der, og kræver noget opmærksomhed. "
        "Kun tal; celler under {n} personer vises som <5.",
        "What was expected of each list, what happened, and whether anything needs attention. "
        "Aggregates only; cells under {n} persons show <5.",
    ),
    "monitoring_not_run": (
        "Overvågningen har ikke kørt endnu. Kør `tidlig monitor`.",
        "The monitor has not run yet. Run `tidlig monitor`.",
    ),
    "open_review_items": ("Åbne sager til gennemsyn", "Open review items"),
    "no_open_items": ("Ingen åbne sager.", "No open items."),
    "item_metric": ("Mål", "Metric"),
    "item_value": ("Værdi", "Value"),
    "item_band": ("Tilladt", "Band"),
    "item_holds": ("Stopper lister", "Holds lists"),
    "item_message": ("Besked", "Message"),
    "acknowledge": ("Kvittér", "Acknowledge"),
    "acknowledge_note": ("Hvad blev tjekket og besluttet", "What was checked and decided"),
    "acknowledged_items": ("Kvitterede sager", "Acknowledged items"),
    "acknowledged_by": ("Kvitteret af", "Acknowledged by"),
    "expected_vs_realised": (
        "Forventet og realiseret præcision pr. liste",
        "Expected vs realised performance per list",
    ),
    "expected_auroc": ("Forventet AUROC", "Expected AUROC"),
    "realised_auroc": ("Realiseret AUROC", "Realised AUROC"),
    "expected_ppv": ("Forventet PPV", "Expected PPV"),
    "realised_ppv": ("Realiseret PPV", "Realised PPV"),
    "interval": ("interval", "interval"),
    "maturity": ("Modenhed", "Maturity"),
    "maturity_mature": ("hele horisonten", "whole horizon"),
    "maturity_partial": ("halvvejs", "halfway"),
    "model_version": ("Model", "Model"),
    "calibration_matured": ("Kalibrering af modne lister", "Calibration of matured lists"),
    "observed_expected": ("Observeret/forventet", "Observed/expected"),
    "calibration_slope": ("Hældning", "Slope"),
    "calibration_intercept": ("Skæring", "Intercept"),
    "lead_time_days": ("Forløb (dage, median)", "Lead time (days, median)"),
    "no_matured_lists": ("Ingen liste er moden endnu.", "No list has matured yet."),
    "drift_history": ("Drift over tid", "Drift history"),
    "drift_latest": ("Største drift ved seneste kørsel", "Largest drift at the latest run"),
    "feature": ("Input", "Input"),
    "psi": ("PSI", "PSI"),
    "test": ("Test", "Test"),
    "visit_yield": ("Udbytte af besøg", "Visit yield"),
    "screening_runs": ("Screeningskørsler og datakvalitet", "Screening runs and data quality"),
    "run_status": ("Status", "Status"),
    "run_reason": ("Begrundelse", "Reason"),
    "run_finished": ("Afsluttet (UTC)", "Finished (UTC)"),
    "run_publishes_current": ("offentliggjorde de gældende lister", "published the current lists"),
    "newest_list_per_district": ("Nyeste liste pr. distrikt", "Newest list per district"),
    "every_list_newest_first": (
        "Alle {count} lister, nyeste først (en liste evalueret både halvvejs og ved hele horisonten "
        "har en række for hver)",
        "All {count} lists, newest first (a list evaluated both halfway and at the whole horizon has a row "
        "for each)",
    ),
    "chart_legend": (
        "○ forventet med interval, ■ realiseret (hele horisonten), □ foreløbig (halvvejs)",
        "○ expected with interval, ■ realised (whole horizon), □ so far (halfway)",
    ),
    "data_quality": ("Datakvalitet pr. kilde og måned", "Data quality per source and month"),
    "data_quality_intro": (
        "Leverancer pr. kilde og måned ved seneste overvågning: modtaget, sat i karantæne, holdt tilbage "
        "(venter på en anden kilde), med advarsler, manglende udtræk. Rækketal under {n} vises som <5. "
        "Tabellen viser kun måneder, der kræver opmærksomhed.",
        "Deliveries per source and month at the latest monitor run: landed, quarantined, held (waiting "
        "for another source), with warnings, expected extracts missing. Row counts under {n} show <5. "
        "The table lists only the months that need attention.",
    ),
    "data_quality_legend": (
        "Grøn: modtaget; ! advarsel eller holdt tilbage; × i karantæne; – udtræk mangler.",
        "Green: landed; ! warning or held; × quarantined; – extract missing.",
    ),
    "source": ("Kilde", "Source"),
    "month": ("Måned", "Month"),
    "deliveries": ("Leverancer", "Deliveries"),
    "landed": ("Modtaget", "Landed"),
    "quarantined": ("Karantæne", "Quarantined"),
    "held": ("Holdt tilbage", "Held"),
    "with_warnings": ("Med advarsler", "With warnings"),
    "missing_extracts": ("Manglende udtræk", "Missing extracts"),
    "rows_landed": ("Rækker modtaget", "Rows landed"),
    "rows_refused": ("Rækker afvist", "Rows refused"),
    "no_quality_issues": (
        "Alle leverancer er modtaget uden advarsler.",
        "Every delivery landed without warnings.",
    ),
    "quarantine_reports": ("Rapporter for karantæne og afviste rækker", "Quarantine and row reports"),
    "data_docs": (
        "Valideringer (Great Expectations Data Docs)",
        "Validations (Great Expectations Data Docs)",
    ),
    "data_docs_intro": (
        "Hver validering af en leverance mod sin datakontrakt, som Great Expectations viser den: regler, "
        "antal fejlende rækker og andele. Uden værdier fra rækkerne (ingen CPR-numre).",
        "Every validation of deliveries against their data contract, as Great Expectations shows it: "
        "rules, failing row counts and shares. Without row values (no CPR numbers).",
    ),
    "validated_at": ("Valideret (UTC)", "Validated (UTC)"),
    "rules_failed": ("Regler brudt", "Rules broken"),
    "passed": ("bestået", "passed"),
    "failed": ("brudt", "failed"),
    "no_data_docs": (
        "Ingen validering er dokumenteret endnu. Kør `tidlig ingest`.",
        "No validation documented yet. Run `tidlig ingest`.",
    ),
    "action_data_docs_view": ("Så valideringsrapport", "Viewed validation docs"),
    "action_quarantine_report_view": ("Så karantænerapport", "Viewed quarantine report"),
    "action_monitoring_view": ("Så overvågning", "Viewed monitoring"),
    "action_monitoring_acknowledge": ("Kvitterede overvågningssag", "Acknowledged monitoring item"),
    # issue 17: the worklist nurses and GPs asked for (review/web_lists.py, review/list_export.py)
    "csv_cpr": ("CPR-nummer", "CPR number"),
    "csv_name": ("Navn", "Name"),
    "csv_shared_place": ("Delt plads", "Shared place"),
    "csv_risk_percent": ("Risiko (%)", "Risk (%)"),
    "csv_change_points": ("Ændring (%-point)", "Change (percentage points)"),
    "triage": ("Triage", "Triage"),
    "triage_red": ("Rød", "Red"),
    "triage_yellow": ("Gul", "Yellow"),
    "triage_green": ("Grøn", "Green"),
    "triage_legend": (
        "Triage efter kommunens farver: rød ved risiko fra {red}, gul fra {yellow}, ellers grøn.",
        "Triage in the municipality's colours: red from a risk of {red}, yellow from {yellow}, else green.",
    ),
    "visit_date": ("Besøgsdato", "Visit date"),
    "visit_date_help": ("Kun ved aftalt besøg.", "Only for a booked visit."),
    "visit_on": ("besøg {date}", "visit {date}"),
    "error_visit_date_required": (
        "Ved et aftalt besøg skal du angive datoen for besøget.",
        "For a booked visit, give the date of the visit.",
    ),
    "error_summary": (
        "Handlingen er ikke gemt. Ret feltet markeret nedenfor, og tryk Gem igen.",
        "The decision was not saved. Correct the field marked below and press Save again.",
    ),
    "tie_shared": ("delt {first}.–{last}. plads", "shared {first}–{last}"),
    "tie_note": (
        "Borgere med samme viste risiko deler plads (fx \u201edelt 3.–6. plads\u201c). Inden for en delt "
        "plads "
        "står de i en fast rækkefølge efter pseudonym; den siger intet om, hvem der haster mest.",
        "Citizens with the same shown risk share a place (e.g. \u201cshared 3–6\u201d). Within a shared "
        "place "
        "they are in a fixed order by pseudonym, which says nothing about who is most urgent.",
    ),
    "progress": ("Fremdrift", "Progress"),
    "progress_text": (
        "{done} af {total} færdige · {started} i gang · {open} ikke behandlet",
        "{done} of {total} done · {started} in progress · {open} not handled",
    ),
    "next_citizen": ("Næste borger", "Next citizen"),
    "previous_citizen": ("Forrige borger", "Previous citizen"),
    "next_open_citizen": ("Næste ikke behandlede", "Next not handled"),
    "position_of": ("Borger {position} af {total} på listen", "Citizen {position} of {total} on the list"),
    "all_handled": ("Alle på listen er behandlet.", "Everyone on the list has been handled."),
    "contact": ("Kontakt", "Contact"),
    "phone": ("Telefon", "Phone"),
    "address": ("Adresse", "Address"),
    "own_gp": ("Egen læge", "Own GP"),
    "gp_phone": ("Lægens telefon", "GP's phone"),
    "medicines": ("Lægemidler (90 dage)", "Medicines (90 days)"),
    "medicine_class": ("Gruppe", "Class"),
    "medicine_name": ("Lægemiddel", "Medicine"),
    "fall_risk_drug": ("øger faldrisiko", "raises fall risk"),
    "unknown_code": ("ukendt kode", "unknown code"),
    "code_group": ("gruppe {code}", "group {code}"),
    "diagnosis": ("Diagnose", "Diagnosis"),
    "scores": ("Samlede scorer", "Summary scores"),
    "hfrs": ("HFRS (skrøbelighed)", "HFRS (frailty)"),
    "charlson": ("Charlson (samsygelighed)", "Charlson (comorbidity)"),
    "glossary": ("Ordforklaring", "Glossary"),
    "fsiii_item": ("Funktionsevne", "Ability"),
    "fsiii_scale": (
        "Score 0 = ingen begrænsning, 1 = let, 2 = moderat, 3 = svær, 4 = totale begrænsninger.",
        "Score 0 = no limitation, 1 = light, 2 = moderate, 3 = severe, 4 = complete limitation.",
    ),
    "risk_meaning_title": ("Hvad betyder risikoen?", "What does the risk mean?"),
    "risk_meaning": (
        "Risikoen er modellens bud på, hvor mange ud af 100 borgere med samme oplysninger der {event} inden "
        "for "
        "{months} måneder. {risk} betyder ca. {per100} ud af 100. Det er ikke en diagnose og ikke en sikker "
        "forudsigelse for den enkelte; brug den til at vælge, hvem I ser på først.",
        "The risk is the model's estimate of how many out of 100 citizens with the same information {event} "
        "within {months} months. {risk} means about {per100} out of 100. It is not a diagnosis nor a certain "
        "prediction for one person; use it to choose whom to look at first.",
    ),
    "risk_event_admission": ("får en akut indlæggelse", "have an acute admission"),
    "risk_event_death": ("dør", "die"),
    "risk_event_frailty": (
        "bliver mere skrøbelige (mere hjælp, faldskade, plejebolig eller død)",
        "become frailer (more help, a fall injury, a nursing home or death)",
    ),
    "glossary_intro": (
        "Ord og forkortelser, der bruges på listerne og borgersiderne.",
        "Words and abbreviations used on the lists and citizen pages.",
    ),
    "term_risk": ("Risiko", "Risk"),
    "term_risk_text": (
        "Sandsynligheden (0–100 %) for hændelsen, listen er lavet til (typisk en akut indlæggelse), inden "
        "for "
        "12 måneder efter listens dato, beregnet ud fra registreringer kendt før den dato. Ændring er "
        "forskellen "
        "i procentpoint fra sidste liste.",
        "The probability (0–100 %) of the event the list is made for (usually an acute admission) within 12 "
        "months of the list's date, computed from records known before that date. Change is the difference "
        "in "
        "percentage points from the previous list.",
    ),
    "term_rank": ("Rang og delt plads", "Rank and shared place"),
    "term_hfrs": ("HFRS", "HFRS"),
    "term_hfrs_text": (
        "Hospital Frailty Risk Score: en skrøbelighedsscore ud fra diagnoser fra hospitalskontakter de "
        "seneste "
        "2 år. Under 5 lav, 5–15 middel, over 15 høj skrøbelighed.",
        "Hospital Frailty Risk Score: a frailty score from the diagnoses of hospital contacts in the past 2 "
        "years. Below 5 low, 5–15 intermediate, above 15 high frailty.",
    ),
    "term_charlson": ("Charlson", "Charlson"),
    "term_charlson_text": (
        "Charlsons samsygelighedsindeks: point for alvorlige kroniske sygdomme (fx hjertesvigt, KOL, "
        "diabetes, "
        "kræft, demens). Jo højere, jo mere samlet sygdomsbyrde.",
        "Charlson comorbidity index: points for serious chronic diseases (e.g. heart failure, COPD, "
        "diabetes, "
        "cancer, dementia). The higher, the greater the overall burden of disease.",
    ),
    "term_fsiii": ("FSIII", "FSIII"),
    "term_fsiii_text": (
        "Fælles Sprog III: kommunernes fælles sprog for funktionsevne (J-koder, fx J1.1 Vaske sig) og "
        "helbredstilstande (I-koder). Funktionsevne scores 0 (ingen begrænsning) til 4 (totale "
        "begrænsninger).",
        "Common Language III (Fælles Sprog III): the municipalities' shared terms for functional ability (J "
        "codes, e.g. J1.1 washing oneself) and health conditions (I codes). Ability is scored 0 (no "
        "limitation) "
        "to 4 (complete limitation).",
    ),
    "term_79a": ("§79a", "§79a"),
    "term_79a_text": (
        "Servicelovens § 79a om forebyggende hjemmebesøg: tilbydes enlige det år, de fylder 70, alle ved 75 "
        "og "
        "80, årligt fra 82, og efter behov ved 65–81 år ved særlig risiko. Listens §79a-mærker viser, "
        "hvilken "
        "gruppe borgeren hører til.",
        "Section 79a of the Social Services Act on preventive home visits: offered to people living alone in "
        "the year they turn 70, to everyone at 75 and 80, yearly from 82, and as needed at 65–81 at special "
        "risk. The list's §79a marks show which group the citizen belongs to.",
    ),
    "term_sks": ("SKS og ATC", "SKS and ATC"),
    "term_sks_text": (
        "SKS-koder er sygehusenes diagnosekoder (D + ICD-10, fx DI500 hjertesvigt); ATC-koder er "
        "lægemidlernes koder (fx C03CA01 furosemid). Siden viser navnet fra kodetabellen; en kode uden navn "
        "vises som \u201eukendt kode\u201c.",
        "SKS codes are the hospitals' diagnosis codes (D + ICD-10, e.g. DI500 heart failure); ATC codes are "
        "the medicines' codes (e.g. C03CA01 furosemide). The page shows the name from the code table; a code "
        "without a name is shown as \u201cunknown code\u201d.",
    ),
    # §79a target groups, worded once where the lists define them.
    **{f"flag_{code}": labels for code, labels in TARGET_GROUPS.items()},
}


def translator(language: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``language`` (``da`` or ``en``); unknown keys come back unchanged."""
    index = 1 if language == "en" else 0

    def t(key: str, **values: object) -> str:
        pair = TEXTS.get(key)
        if pair is None:
            return key
        return pair[index].format(**values) if values else pair[index]

    return t
