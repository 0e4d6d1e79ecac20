from portal.access import membership_of


def membership(request):
    return {"membership": membership_of(request.user)}
