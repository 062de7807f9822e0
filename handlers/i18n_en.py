"""English versions of the bot's French sentences (INCUBOT_LANGUAGE=en).

Keys are the French sentences exactly as handlers pass them to ``t(…)``; values keep the
same ``{placeholders}``. ``tests/test_i18n.py`` checks that none is missing.
"""

ENGLISH: dict[str, str] = {
    "**Budget {year}**": "**Budget {year}**",
    "**AE** : allouées {alloc} · engagées {used} ({pct}) · disponibles {left}":
        "**AE** (commitment authorisations): allocated {alloc} · committed {used} ({pct}) · available {left}",
    "**CP** : alloués {alloc} · consommés {used} ({pct}) · disponibles {left}":
        "**CP** (payment appropriations): allocated {alloc} · consumed {used} ({pct}) · available {left}",
    " — convention {ref}": " — agreement {ref}",
    "**Budget {year} — {startup}**": "**Budget {year} — {startup}**",
    "AE engagées : {committed} ({pct} des AE de l'année)": "AE committed: {committed} ({pct} of the year's AE)",
    "CP consommés : {consumed}": "CP consumed: {consumed}",
    "Devis en attente : {n} ({amount})": "Pending quotes: {n} ({amount})",
    "aucune": "none",
    "Aucune dotation n'est enregistrée pour {year}. Années connues : {known}.":
        "No allocation is recorded for {year}. Known years: {known}.",
    "**Par startup** (AE engagées / CP consommés en {year}) :":
        "**By startup** (AE committed / CP consumed in {year}):",
    "• {name} : {committed} / {consumed}": "• {name}: {committed} / {consumed}",
    "Startup inconnue : « {name} ». Tapez **startups** pour la liste.":
        "Unknown startup: “{name}”. Type **startups** for the list.",
    "Le détail de {startup} est réservé à son équipe et aux gestionnaires.":
        "The details of {startup} are for its team and the managers only.",
    " — {n} devis en attente ({amount})": " — {n} pending quote(s) ({amount})",
    "**Devis en attente** : {n}, pour {amount}": "**Pending quotes**: {n}, totalling {amount}",
    "• {ref} · {startup} · {amount} · {supplier}": "• {ref} · {startup} · {amount} · {supplier}",
    "… et {n} autres (tapez **en-attente**).": "… and {n} more (type **pending**).",
    "budget [ANNÉE] [STARTUP]": "budget [YEAR] [STARTUP]",
    "AE et CP de l'année : allouées, engagées, consommées, disponibles":
        "the year's AE and CP: allocated, committed, consumed, available",
    "{ttc} TTC": "{ttc} incl. VAT",
    "⏳ En attente de décision d'un intrapreneur": "⏳ Waiting for an intrapreneur's decision",
    "**Devis {ref}** — demande de validation": "**Quote {ref}** — validation request",
    "{ttc} TTC ({ht} HT)": "{ttc} incl. VAT ({ht} excl. VAT)",
    "✅ **{status}** par {who} le {when}": "✅ **{status}** by {who} on {when}",
    "❌ **Refusé** par {who} le {when} — motif : {reason}": "❌ **Refused** by {who} on {when} — reason: {reason}",
    "**Service fait {ref}** — demande de certification": "**Service done {ref}** — certification request",
    "Startup": "Startup",
    "Montant": "Amount",
    "Fournisseur": "Supplier",
    "Objet": "Subject",
    "Demandé par": "Requested by",
    "{who}, le {when}": "{who}, on {when}",
    "Commande": "Order",
    "{ref} — {supplier}": "{ref} — {supplier}",
    "{amount} TTC, soit {pct} de la commande ({order})": "{amount} incl. VAT, i.e. {pct} of the order ({order})",
    "Cumul certifié": "Certified so far",
    "{cum} ({pct})": "{cum} ({pct})",
    "Valider": "Validate",
    "Refuser": "Refuse",
    "Période": "Period",
    "Certifier": "Certify",
    "Aucun comité d'investissement n'est planifié.": "No investment committee is scheduled.",
    "aujourd'hui": "today",
    "**Prochain comité d'investissement : {date}** ({when}).": "**Next investment committee: {date}** ({when}).",
    "À préparer :": "To prepare:",
    "demain": "tomorrow",
    "dans {n} jours": "in {n} days",
    "Le dernier a eu lieu le {date}.": "The last one was held on {date}.",
    "Un administrateur peut en ajouter dans le fichier de référence.":
        "An administrator can add some in the reference data file.",
    "les indicateurs d'impact de la startup, et sa page /stats à jour":
        "the startup's impact indicators, and its /stats page up to date",
    "le bilan des six derniers mois : ce qui a été appris, livré, mesuré":
        "the review of the last six months: what was learnt, delivered, measured",
    "le budget des six prochains mois (devis à venir, AE et CP nécessaires)":
        "the budget for the next six months (upcoming quotes, AE and CP needed)",
    "les décisions attendues du comité (poursuite, changement de phase, arrêt)":
        "the decisions expected from the committee (continue, change phase, stop)",
    "comite": "committee",
    "prochain comité d'investissement et ce qu'il faut préparer": "the next investment committee and what to prepare",
    "Je ne vous connais pas encore : je ne peux rien faire pour vous. Demandez à {whom} de vous ajouter à incubot.":
        "I don't know you yet, so I can't do anything for you. Ask {whom} to add you to incubot.",
    "l'équipe de l'incubateur": "the incubator team",
    "Je ne connais pas la commande « {word} ». Tapez **aide** pour la liste.":
        "I don't know the command “{word}”. Type **help** for the list.",
    "La commande **{name}** est réservée aux gestionnaires.": "The command **{name}** is for managers only.",
    "Désolé, une erreur inattendue s'est produite ; rien n'a été modifié. L'équipe technique a été prévenue.":
        "Sorry, something unexpected went wrong; nothing was changed. The technical team has been told.",
    "Ce message est trop long ({n} caractères ; {max} au plus) : rien n'a été enregistré.":
        "This message is too long ({n} characters; {max} at most): nothing was recorded.",
    "Ce bouton n'est plus valable.": "This button is no longer valid.",
    "Ce formulaire n'est plus valable.": "This form is no longer valid.",
    "{ref} est déjà {status} (par {who}, le {when}) : rien n'a changé.":
        "{ref} is already {status} (by {who}, on {when}): nothing changed.",
    "{noun} {ref} a été {word} par {who}.": "{noun} {ref} has been {word} by {who}.",
    ("🚨 **Crédits insuffisants** : {who} n'a pas pu décider de {ref} ({startup}).\n{why}\nUn ajustement de la "
     "dotation est nécessaire (convention, art. 5)."):
        ("🚨 **Insufficient credits**: {who} could not decide on {ref} ({startup}).\n{why}\nThe allocation needs "
         "adjusting (agreement, art. 5)."),
    "Seul un intrapreneur de {startup} peut décider de {ref} ({names}). Rien n'a changé.":
        "Only an intrapreneur of {startup} can decide on {ref} ({names}). Nothing changed.",
    "refusé": "refused",
    "Motif du refus": "Reason for refusal",
    "Indiquez le motif du refus : refuser {ref}; motif": "Give the reason for the refusal: refuse {ref}; reason",
    "Le motif dépasse {n} caractères.": "The reason is longer than {n} characters.",
    "Précisez la référence : valider D-2026-0001 ou certifier SF-2026-0001.":
        "Give the reference: validate D-2026-0001 or certify SF-2026-0001.",
    "Précisez la référence et le motif : refuser D-2026-0001; motif.":
        "Give the reference and the reason: refuse D-2026-0001; reason.",
    "C'est fait : {text}": "Done: {text}",
    "Le motif est obligatoire.": "The reason is required.",
    "{n} caractères au plus.": "{n} characters at most.",
    "C'est fait : {text} Motif : {reason}": "Done: {text} Reason: {reason}",
    "aucun n'est enregistré": "none is recorded",
    "Pourquoi refusez-vous {ref} ?": "Why are you refusing {ref}?",
    "{ref} est déjà {status} : rien n'a changé.": "{ref} is already {status}: nothing changed.",
    "Le motif est transmis à la personne qui a fait la demande.":
        "The reason is passed on to the person who made the request.",
    "validé": "validated",
    "le devis": "the quote",
    "certifié": "certified",
    "le service fait": "the service done",
    "Bonjour {name} ! Je suis incubot, l'assistant budgétaire de l'incubateur.":
        "Hello {name}! I'm incubot, the incubator's budget assistant.",
    "gestionnaire": "manager",
    "administrateur": "administrator",
    "Vos rôles : {roles}.": "Your roles: {roles}.",
    "Vous n'avez pas encore de rôle : vous pouvez consulter le budget et les startups.":
        "You don't have a role yet: you can look at the budget and the startups.",
    "• `{usage}` — {summary}": "• `{usage}` — {summary}",
    ("Les demandes à valider vous arrivent en message direct, avec les boutons **Valider** / **Refuser** (service "
     "fait : **Certifier** / **Refuser**)."):
        ("Requests to validate reach you as direct messages, with **Validate** / **Refuse** buttons (service done: "
         "**Certify** / **Refuse**)."),
    "{role} de {startup}": "{role} of {startup}",
    "intrapreneur": "intrapreneur",
    "coach": "coach",
    "aide": "help",
    "ce que je peux faire pour vous": "what I can do for you",
    "**Historique**": "**History**",
    "Précisez la référence : historique D-2026-0001.": "Give the reference: history D-2026-0001.",
    "L'historique de {ref} est réservé à l'équipe de la startup et aux gestionnaires.":
        "The history of {ref} is for the startup's team and the managers only.",
    " — demande de certification": " — certification request",
    " — motif : {reason}": " — reason: {reason}",
    "• {when} — {action} par {who} ({platform}){detail}": "• {when} — {action} by {who} ({platform}){detail}",
    "Certifié à ce jour : {done} sur {total} ({pct}) ; reste à payer {left}.":
        "Certified to date: {done} of {total} ({pct}); left to pay {left}.",
    " — demande de validation": " — validation request",
    "devis soumis": "quote submitted",
    "devis validé": "quote validated",
    "devis refusé": "quote refused",
    "service fait demandé": "service done requested",
    "service fait certifié": "service done certified",
    "service fait refusé": "service done refused",
    "Slack": "Slack",
    "Mattermost": "Mattermost",
    "terminal": "terminal",
    "historique RÉF": "history REF",
    "tout le parcours d'un devis ou d'un service fait": "the whole trail of a quote or a service done",
    "Il manque le montant.": "The amount is missing.",
    "Ce montant est trop long pour être un montant.": "This is too long to be an amount.",
    "Le montant doit être positif ({amount} est négatif).": "The amount must be positive ({amount} is negative).",
    "« {amount} » n'est pas un montant. Exemples : 12500, 12 500,50 €, 12k.":
        "“{amount}” is not an amount. Examples: 12500, 12,500.50 €, 12k.",
    "Un montant s'arrête au centime : « {amount} » a trop de décimales.":
        "An amount stops at the cent: “{amount}” has too many decimals.",
    "Le montant doit être supérieur à zéro.": "The amount must be greater than zero.",
    "Montant refusé : {amount} dépasse le plafond de {max} pour une demande.":
        "Amount refused: {amount} is above the ceiling of {max} for one request.",
    "**En attente de décision** : {q} devis, {s} services faits":
        "**Waiting for a decision**: {q} quote(s), {s} service(s) done",
    "Vous n'êtes rattaché(e) à aucune startup : rien ne vous attend.":
        "You don't belong to any startup: nothing is waiting for you.",
    "Rien n'est en attente. 🎉": "Nothing is pending. 🎉",
    "… et {n} autres demandes en attente (les plus anciennes sont en tête).":
        "… and {n} more pending requests (the oldest come first).",
    "• {ref} · {startup} · {amount} · {supplier} — par {who}, depuis {days} j":
        "• {ref} · {startup} · {amount} · {supplier} — by {who}, {days} day(s) ago",
    "• {ref} sur {quote} · {startup} · {amount} — par {who}, depuis {days} j":
        "• {ref} on {quote} · {startup} · {amount} — by {who}, {days} day(s) ago",
    "Pour refuser : **refuser RÉF; motif**.": "To refuse: **refuse REF; reason**.",
    "Valider {ref}": "Validate {ref}",
    "Certifier {ref}": "Certify {ref}",
    "en-attente": "pending",
    "ce qui attend une décision": "what is waiting for a decision",
    "Devis **{ref}** enregistré : {amount} pour {startup}.": "Quote **{ref}** recorded: {amount} for {startup}.",
    "Indiquez la startup.": "Give the startup.",
    "Indiquez le fournisseur.": "Give the supplier.",
    "Indiquez l'objet du devis.": "Give the subject of the quote.",
    "Vous n'êtes rattaché(e) à aucune startup : vous ne pouvez pas soumettre de devis.":
        "You don't belong to any startup: you cannot submit quotes.",
    "Nouveau devis": "New quote",
    "Envoyer": "Send",
    "Startup inconnue : « {name} ». Startups connues : {known}.": "Unknown startup: “{name}”. Known startups: {known}.",
    "Le fournisseur tient en {n} caractères au plus.": "The supplier must fit in {n} characters.",
    "L'objet tient en {n} caractères au plus.": "The subject must fit in {n} characters.",
    ("Vous ne faites pas partie de {startup} : seuls ses coachs, ses intrapreneurs et les gestionnaires peuvent "
     "soumettre un devis pour elle."):
        ("You are not part of {startup}: only its coaches, its intrapreneurs and the managers can submit a quote "
         "for it."),
    "Montant TTC trop élevé.": "Amount including VAT is too high.",
    "Demande de validation envoyée à {names}.": "Validation request sent to {names}.",
    "⚠️ {startup} n'a pas d'intrapreneur enregistré : personne ne peut décider. Les gestionnaires sont prévenus.":
        "⚠️ {startup} has no intrapreneur on record: nobody can decide. The managers have been told.",
    "Remplissez le formulaire du devis.": "Fill in the quote form.",
    ("Il manque des champs. Format : devis STARTUP; MONTANT; FOURNISSEUR; OBJET (par exemple : devis dedale; 12 "
     "500 HT; Scopyleft; Sprint 12)."):
        ("Some fields are missing. Format: quote STARTUP; AMOUNT; SUPPLIER; SUBJECT (for example: quote dedale; 12 "
         "500 HT; Scopyleft; Sprint 12)."),
    "Le montant est": "The amount is",
    "⚠️ Le devis {ref} de {startup} attend une décision, mais la startup n'a pas d'intrapreneur enregistré.":
        "⚠️ Quote {ref} of {startup} is waiting for a decision, but the startup has no intrapreneur on record.",
    "En euros ; ajoutez HT si le devis est hors taxes (TVA 20 %).":
        "In euros; add HT if the quote excludes VAT (20 % VAT).",
    "TTC": "incl. VAT (TTC)",
    "HT (TVA 20 % ajoutée)": "excl. VAT (HT, 20 % VAT added)",
    "devis STARTUP; MONTANT; FOURNISSEUR; OBJET": "quote STARTUP; AMOUNT; SUPPLIER; SUBJECT",
    "soumettre un devis (sans argument : le formulaire)": "submit a quote (without arguments: the form)",
    "valider D-AAAA-NNNN · certifier SF-AAAA-NNNN": "validate D-YYYY-NNNN · certify SF-YYYY-NNNN",
    "décider d'une demande sans passer par les boutons (intrapreneurs)":
        "decide on a request without the buttons (intrapreneurs)",
    "refuser RÉF; MOTIF": "refuse REF; REASON",
    "refuser une demande avec son motif (intrapreneurs)": "refuse a request, with its reason (intrapreneurs)",
    "Demande refusée.": "Request refused.",
    "Je ne trouve pas « {key} ».": "I can't find “{key}”.",
    ("Aucune dotation n'est enregistrée pour {year} : rien ne peut être engagé ni payé sur cette année. Un "
     "administrateur doit l'importer."):
        ("No allocation is recorded for {year}: nothing can be committed or paid on that year. An administrator "
         "has to import it."),
    ("Crédits insuffisants : il reste {available} en {kind} {year}, la demande est de {requested}. Rien n'a été "
     "enregistré ; les gestionnaires sont prévenus."):
        ("Insufficient credits: {available} of {kind} {year} are left, the request is for {requested}. Nothing was "
         "recorded; the managers have been told."),
    "Le montant ({requested}) dépasse ce qu'il reste à certifier sur {ref} ({remaining}).":
        "The amount ({requested}) is more than what is left to certify on {ref} ({remaining}).",
    "Le devis {ref} est {status} : un service fait ne peut porter que sur un devis validé.":
        "Quote {ref} is {status}: a service done can only be on a validated quote.",
    "Je ne trouve pas le devis {ref}. Les références ressemblent à D-2026-0001.":
        "I can't find quote {ref}. References look like D-2026-0001.",
    "Je ne trouve pas le service fait {ref}. Les références ressemblent à SF-2026-0001.":
        "I can't find service done {ref}. References look like SF-2026-0001.",
    "en attente": "pending",
    "📅 **Comité d'investissement le {date}** ({when}).": "📅 **Investment committee on {date}** ({when}).",
    "Vos startups : {names}.": "Your startups: {names}.",
    "Tapez **comite** pour revoir cette liste.": "Type **committee** to see this list again.",
    "📉 **Crédits {year} : au rythme actuel, une partie restera inemployée** (convention, art. 5).":
        "📉 **{year} credits: at the current pace, part of them will stay unspent** (agreement, art. 5).",
    "Le délégant doit en être informé ; les devis prévus peuvent être avancés.":
        "The delegating party must be told; planned quotes can be brought forward.",
    ("📜 **La convention {ref} prend fin le {end}.** Préavis de {n} mois (art. 7) : pour la dénoncer ou préparer sa "
     "suite, décidez avant le {deadline}."):
        ("📜 **Agreement {ref} ends on {end}.** Notice of {n} months (art. 7): to terminate it or prepare what "
         "follows, decide before {deadline}."),
    ("📜 **La convention {ref} prend fin dans {n} jours, le {end}.** Préparez le bilan, les derniers services faits "
     "et les restes à payer."):
        ("📜 **Agreement {ref} ends in {n} days, on {end}.** Prepare the review, the last services done and what is "
         "left to pay."),
    "⏳ **{n} demande(s) attendent votre décision** depuis plus de 2 jours ouvrés :":
        "⏳ **{n} request(s) have been waiting for your decision** for more than 2 working days:",
    "Tapez **en-attente** pour les boutons Valider / Certifier.":
        "Type **pending** for the Validate / Certify buttons.",
    "🚨 **{credit} {year} épuisés** : {used} sur {alloc}.": "🚨 **{credit} {year} used up**: {used} of {alloc}.",
    "⚠️ **{credit} {year} : seuil de {pct} % franchi** — {used} sur {alloc} ({rate}).":
        "⚠️ **{credit} {year}: {pct} % threshold crossed** — {used} of {alloc} ({rate}).",
    "• {credit} : {used} à ce jour, {proj} projetés au 31 décembre sur {alloc} — {left} inemployés":
        "• {credit}: {used} to date, {proj} projected at 31 December out of {alloc} — {left} unspent",
    "• devis {ref} · {startup} · {amount} — en attente depuis {n} jours ouvrés":
        "• quote {ref} · {startup} · {amount} — pending for {n} working days",
    "• service fait {ref} sur {quote} · {startup} · {amount} — en attente depuis {n} jours ouvrés":
        "• service done {ref} on {quote} · {startup} · {amount} — pending for {n} working days",
    "Reste disponible : {left}. Tapez **budget** pour le détail.":
        "Still available: {left}. Type **budget** for the details.",
    "**Rapport mensuel — {month}**": "**Monthly report — {month}**",
    "AE engagées dans le mois : {m} · depuis le 1er janvier : {y} ({pct} des {alloc})":
        "AE committed in the month: {m} · since 1 January: {y} ({pct} of {alloc})",
    "CP consommés dans le mois : {m} · depuis le 1er janvier : {y} ({pct} des {alloc})":
        "CP consumed in the month: {m} · since 1 January: {y} ({pct} of {alloc})",
    "Devis en attente : {n} ({amount}) · restes à payer : {rap}": "Pending quotes: {n} ({amount}) · left to pay: {rap}",
    "Projection au 31 décembre au rythme actuel : {proj} de CP consommés ; {left}.":
        "Projection at 31 December at the current pace: {proj} of CP consumed; {left}.",
    "**Par startup** (mois / année) :": "**By startup** (month / year):",
    "• {name} — AE {aem} / {aey} · CP {cpm} / {cpy} · en attente {p} · reste à payer {rap}":
        "• {name} — AE {aem} / {aey} · CP {cpm} / {cpy} · pending {p} · left to pay {rap}",
    "• {name} — AE {aem} / {aey} ({aer}) · CP {cpm} / {cpy} ({cpr}) · en attente {p} · reste à payer {rap}":
        "• {name} — AE {aem} / {aey} ({aer}) · CP {cpm} / {cpy} ({cpr}) · pending {p} · left to pay {rap}",
    "Total": "Total",
    "Dotation {year} : AE {ae} · CP {cp}.": "Allocation {year}: AE {ae} · CP {cp}.",
    "Projection au 31 décembre au rythme actuel : {proj} d'AE engagées.":
        "Projection at 31 December at the current pace: {proj} of AE committed.",
    "Par startup": "By startup",
    "AE engagées (mois)": "AE committed (month)",
    "AE engagées (année)": "AE committed (year)",
    "Taux AE (année)": "AE rate (year)",
    "CP consommés (mois)": "CP consumed (month)",
    "CP consommés (année)": "CP consumed (year)",
    "Taux CP (année)": "CP rate (year)",
    "Devis en attente": "Pending quotes",
    "Montant en attente": "Pending amount",
    "Restes à payer": "Left to pay",
    "Projection CP au 31/12": "CP projection at 31/12",
    "• … et {n} autre(s) pour {startup}": "• … and {n} more for {startup}",
    "« {text} » n'est pas un mois : écrivez AAAA-MM, par exemple 2026-10.":
        "“{text}” is not a month: write YYYY-MM, for example 2026-10.",
    "Le rapport mensuel est réservé aux gestionnaires.": "The monthly report is for managers only.",
    "reliquat prévisible {x}": "expected unspent balance {x}",
    "dépassement prévisible {x}": "expected overrun {x}",
    "rapport [AAAA-MM]": "report [YYYY-MM]",
    "le rapport mensuel (gestionnaires)": "the monthly report (managers)",
    "Service fait **{ref}** enregistré sur {quote} : {amount} ({pct} de la commande).":
        "Service done **{ref}** recorded on {quote}: {amount} ({pct} of the order).",
    "Indiquez la référence du devis (D-AAAA-NNNN).": "Give the reference of the quote (D-YYYY-NNNN).",
    "La période tient en {n} caractères au plus.": "The period must fit in {n} characters.",
    "Aucune commande validée de vos startups n'attend de service fait.":
        "No validated order of your startups is waiting for a service done.",
    "Service fait": "Service done",
    "Vous ne faites pas partie de {startup} : vous ne pouvez pas demander de service fait sur {ref}.":
        "You are not part of {startup}: you cannot request a service done on {ref}.",
    "Demande de certification envoyée à {names}.": "Certification request sent to {names}.",
    "⚠️ Personne ne peut certifier : la startup n'a pas d'intrapreneur enregistré.":
        "⚠️ Nobody can certify: the startup has no intrapreneur on record.",
    "Remplissez le formulaire du service fait.": "Fill in the service-done form.",
    ("Il manque des champs. Format : service-fait D-AAAA-NNNN; MONTANT[; PÉRIODE] (par exemple : service-fait "
     "D-2026-0003; 4 000; octobre)."):
        ("Some fields are missing. Format: service-done D-YYYY-NNNN; AMOUNT[; PERIOD] (for example: service-done "
         "D-2026-0003; 4 000; October)."),
    "{ref} · {startup} · {supplier} · reste {left}": "{ref} · {startup} · {supplier} · {left} left",
    "Je ne trouve pas le devis {ref}.": "I can't find quote {ref}.",
    "Montant TTC": "Amount incl. VAT",
    "octobre 2026, sprint 12…": "October 2026, sprint 12…",
    "service-fait D-AAAA-NNNN; MONTANT[; PÉRIODE]": "service-done D-YYYY-NNNN; AMOUNT[; PERIOD]",
    "demander la certification d'un service fait (sans argument : le formulaire)":
        "request the certification of a service done (without arguments: the form)",
    "**Startups de l'incubateur** ({n}) — budget {year}": "**The incubator's startups** ({n}) — {year} budget",
    "Aucune startup n'est enregistrée.": "No startup is recorded.",
    " depuis le {date}": " since {date}",
    "• **{name}** (`{id}`) — {phase}{since}": "• **{name}** (`{id}`) — {phase}{since}",
    "   intrapreneur(s) : {intras} · coach(s) : {coaches}": "   intrapreneur(s): {intras} · coach(es): {coaches}",
    "   AE engagées {committed} · CP consommés {consumed}": "   AE committed {committed} · CP consumed {consumed}",
    "investigation": "investigation",
    "construction": "construction",
    "accélération": "acceleration",
    "consolidation": "consolidation",
    "startups": "startups",
    "les startups, leur phase, leurs équipes et leur budget": "the startups, their phase, their teams and their budget",
    # bot/slack.py (modal close button, App Home headings, form opener)
    "Annuler": "Cancel",
    "Ouvrir le formulaire": "Open the form",
    "Ce qui vous attend": "Waiting for you",
    "Budget": "Budget",
    "Prochain comité": "Next committee",
    "Le formulaire n'a pas pu s'ouvrir : cliquez à nouveau.": "The form could not open: click again.",
}
