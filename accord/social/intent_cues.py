"""The cue phrases that show what a post wants (read by :mod:`accord.social.intent`).

Each table maps a confidence to the phrases that earn it, separated by "|", matched on
whole words of the lower-cased post (an apostrophe belongs to its word: "can't"; a
hyphen splits: "est-ce que" is "est ce que"). English first, then the commonest cues of
Spanish, French, German and Portuguese. A person can read these and test them: a
phrase here either shows its intent in a post or it does not."""

from __future__ import annotations

# (kind, subtype or None) -> {confidence: "phrase|phrase|..."}
CUES: dict[tuple[str, str | None], dict[float, str]] = {
    ("complaint", None): {
        0.85: "doesn't work|does not work|doesnt work|didn't work|not working|isn't working"
        "|isnt working|stopped working|still waiting|still not fixed|still broken"
        "|charged twice|double charged|charged me twice|overcharged|never arrived"
        "|never received|still haven't received|hasn't arrived|no response|no reply"
        "|nobody answers|no one answers|worst service|worst customer service|terrible service"
        "|awful service|horrible service|thanks for nothing|waste of money|ripped off"
        "|rip off|wrong order|lost my order|damaged|defective|broken again|fix this"
        "|sort this out|unacceptable|ridiculous|disappointed|disappointing|fed up|sick of"
        "|keeps crashing|so frustrating|fell apart|falling apart|broke after|broke on"
        "|broke down|stopped charging|poor quality|cheaply made|expected better"
        "|what happened to|wrong size|wrong item|sent the wrong|arrived late|late again"
        "|delayed again|lost my parcel|lost my package|missing item|missing items|never came"
        "|arrived broken|arrived damaged|came broken|torn seam|zip broke|zipper broke"
        # es, fr, de, pt
        "|no funciona|sigo esperando|pésimo servicio|pésima atención|estafa|decepcionado"
        "|ne marche pas|ne fonctionne pas|toujours rien|toujours en attente|arnaque|déçu"
        "|service client nul|funktioniert nicht|warte immer noch|immer noch nicht"
        "|enttäuscht|frechheit|unverschämt|não funciona|ainda esperando|continuo esperando"
        "|péssimo atendimento|decepcionado|absurdo",
        0.7: "worst|broken|refund|scam|terrible|awful|useless|garbage|trash|sucks|horrible"
        "|pathetic|joke|disgusting|still no|been waiting|on hold|cancelled my order"
        "|canceled my order|why is it so hard|not happy|not impressed|never again"
        "|snapped|cracked|leaking|leaked|faulty|torn|ripped|delayed|overdue"
        "|reembolso|remboursement|rückerstattung|reembolso|lixo|basura|nul",
    },
    ("praise", None): {
        0.85: "thank you|thanks so much|thank you so much|thanks a lot|much appreciated"
        "|great job|well done|great service|great support|excellent service|amazing service"
        "|highly recommend|strongly recommend|love this|love it|love you|love my|fixed it"
        "|sorted it|problem solved|best app|best service|best customer service|kudos"
        "|shoutout|shout out|you guys rock|you rock|lifesaver|life saver|5 stars|five stars"
        "|muchas gracias|excelente servicio|me encanta|lo recomiendo|merci beaucoup"
        "|super service|je recommande|j'adore|vielen dank|danke schön|tolle arbeit"
        "|sehr zufrieden|empfehle|muito obrigado|muito obrigada|recomendo|adorei|amei",
        0.6: "thanks|thx|ty|recommend|amazing|awesome|excellent|fantastic|brilliant"
        "|impressed|grateful|appreciate|perfect|gracias|genial|merci|génial|danke|toll"
        "|obrigado|obrigada|ótimo|maravilhoso",
    },
    ("purchase_intent", None): {
        0.85: "thinking of buying|thinking about buying|thinking of getting|where can i buy"
        "|where to buy|where do i buy|should i get|should i buy|want to buy|wanna buy"
        "|going to buy|gonna buy|planning to buy|looking to buy|about to buy|any discount"
        "|any discounts|discount code|promo code|coupon code|price of|how much is"
        "|how much does|how much for|is it worth|worth buying|in stock|back in stock"
        "|take my money|pre order|preorder|can i order|where can i get|is it available"
        "|dónde comprar|donde comprar|quiero comprar|cuánto cuesta|cuanto cuesta"
        "|hay descuento|código de descuento|où acheter|ou acheter|je veux acheter"
        "|combien coûte|combien coute|code promo|wo kann ich|wo kaufen|ich will kaufen"
        "|möchte kaufen|was kostet|gutscheincode|rabattcode|onde comprar|quero comprar"
        "|quanto custa|tem desconto|cupom de desconto",
        0.55: "discount|coupon|coupons|prices|descuento|réduction|rabatt|desconto",
    },
    ("churn_threat", None): {
        0.9: "switching to|switched to|switch to|cancel my subscription|cancelling my"
        "|canceling my|cancel my account|close my account|closing my account|delete my account"
        "|deleting my account|going to leave|gonna leave|about to leave|leaving you"
        "|i'm done with|im done with|done with you|never buying again|never buying from"
        "|never ordering again|never ordering from|never shopping|never using|taking my business"
        "|take my business|looking for alternatives|any alternatives|alternative to"
        "|unsubscribing|time to switch|moving over to|moved over to"
        "|me cambio a|cancelar mi suscripción|darme de baja|nunca más compro"
        "|je passe chez|résilier|je résilie|je me désabonne|plus jamais"
        "|ich kündige|kündigen|wechsle zu|nie wieder|vou cancelar|cancelar minha assinatura"
        "|vou mudar para|nunca mais compro",
        0.6: "never again|unsubscribe|last time i|goodbye|nunca más|nunca mais",
    },
    ("urgent", "safety"): {
        0.95: "caught fire|catch fire|caught on fire|burst into flames|exploded|explode"
        "|allergic reaction|anaphylactic|anaphylaxis|choking|choked|electric shock"
        "|electrocuted|food poisoning|injured my|injured me|got injured|was injured by"
        "|injury from|injuries from|burned my|burnt my|burned me|burns on|sent to hospital"
        "|in the hospital|went to the er|cut my|cut me"
        "|incendio|se incendió|reacción alérgica|intoxicación|herido|quemadura"
        "|incendie|a pris feu|réaction allergique|intoxication|blessé|brûlure"
        "|in brand geraten|allergische reaktion|lebensmittelvergiftung|verletzt|verbrannt"
        "|pegou fogo|incêndio|reação alérgica|intoxicação|ferido|queimadura",
        0.65: "smoke|smoking from|sparks|sparking|melted|burning smell|burned|burnt|hospital"
        "|dangerous|unsafe|hazard|choke|injured|injury|bleeding|humo|fumée|rauch|fumaça",
    },
    ("urgent", "legal"): {
        0.9: "lawyer|lawyers|attorney|lawsuit|suing|sue you|sue them|going to sue|gonna sue"
        "|will sue|class action|legal action|report you to|reporting you to|reported you to"
        "|consumer protection|better business bureau|gdpr complaint|gdpr request"
        "|data protection authority|trading standards|ombudsman|small claims"
        "|abogado|demanda|denunciar|denuncia|avocat|plainte|porter plainte|tribunal"
        "|anwalt|klage|verklagen|verbraucherzentrale|advogado|processar|procon|reclame aqui",
        0.5: "sue|gdpr|bbb|ftc|legal",
    },
    ("urgent", "outage"): {
        0.9: "is down|are down|down again|still down|site down|app down|server down"
        "|servers down|outage|not loading|won't load|wont load|isn't loading|can't log in"
        "|cant log in|cannot log in|can't login|cant login|unable to log in|can't sign in"
        "|cant sign in|unable to login|500 error|error 500|502 bad gateway"
        "|internal server error|service unavailable|not responding|down for everyone"
        "|is it down|está caído|esta caido|no carga"
        "|en panne|ne charge pas|panne|störung|ausgefallen|geht nicht|lädt nicht"
        "|fora do ar|caiu|não carrega",
        0.6: "keeps crashing|crashing|crashed|error message|502|503|504|anyone else having"
        "|anyone else getting",
    },
    ("spam", None): {
        0.6: "dm me for|dm for|dm me to|message me for|follow back|follow for follow"
        "|followback|f4f|earn $|make money|passive income|work from home|click the link"
        "|link in bio|free followers|buy followers|limited offer|limited time offer"
        "|100% free|investment opportunity|guaranteed profit|double your|free crypto",
        0.45: "giveaway|crypto|bitcoin|btc|nft|nfts|airdrop|forex|whatsapp|telegram|cash app"
        "|promo|onlyfans",
    },
    # Phrases that contain a cue but show nothing ("thanks in advance" is no praise).
    ("ignore", None): {
        0.0: "thanks in advance|thank you in advance|ty in advance|no problem|no problems"
        "|no issues|not bad|how much i love|how much we love|down to earth|calm down"
        "|slow down|down the road|down the street|count down|countdown",
    },
}

# Question openers: anywhere in a post, or only at the start of a sentence.
QUESTION_ANYWHERE = (
    "how do i|how can i|how to|does anyone know|anyone know|is there a way|is it possible"
    "|can someone|can anyone|could someone|any idea|any ideas|what's the best way"
    "|cómo puedo|alguien sabe|hay alguna forma|comment faire|quelqu'un sait|est ce que"
    "|wie kann ich|weiß jemand|gibt es eine möglichkeit|como faço|alguém sabe|tem como"
)
QUESTION_AT_START = (
    "can i|can you|could you|how|what|why|where|when|who|which|is there|is it|are you"
    "|are there|does|do you|do i|did you|will you|should i|qué|cómo|dónde|por qué|pourquoi"
    "|comment|où|quand|warum|wie|wann|por que|onde|quando"
)

# Verbs that, followed by "to <Name>", say an author is leaving for another brand.
CHURN_MOVES = "moving|moved|switching|switched|migrating|migrated|going over|jumping ship"

# Promotional words: spam when they come with several links or hashtags.
PROMOTIONAL = frozenset(
    {
        *("free", "win", "winner", "prize", "deal", "deals", "offer", "sale", "discount"),
        *("promo", "bonus", "cash", "money", "earn", "profit", "income", "invest"),
        *("investment", "followers", "likes", "click", "link", "subscribe", "limited"),
    }
)
